import LLM
import Testing

@Suite struct ServerSentEventParserTests {
    /// Feeds `text` in two parts split at every byte offset, and one byte at a time; every
    /// way must give the same events (the parser's promise: split anywhere).
    func parseEverySplit(_ text: String, maxLineBytes: Int = 1024) throws -> [ServerSentEvent] {
        let bytes = Array(text.utf8)
        var whole = ServerSentEventParser(maxLineBytes: maxLineBytes)
        let expected = try whole.feed(bytes)
        for split in 0...bytes.count {
            var parser = ServerSentEventParser(maxLineBytes: maxLineBytes)
            let events = try parser.feed(bytes[..<split]) + parser.feed(bytes[split...])
            #expect(events == expected, "split at \(split)")
        }
        var byByte = ServerSentEventParser(maxLineBytes: maxLineBytes)
        var events: [ServerSentEvent] = []
        for byte in bytes { events += try byByte.feed([byte]) }
        #expect(events == expected, "one byte at a time")
        return expected
    }

    @Test func eventsEndAtABlankLine() throws {
        let events = try parseEverySplit("data: {\"a\":1}\n\ndata: [DONE]\n\n")
        #expect(events == [ServerSentEvent(data: "{\"a\":1}"), ServerSentEvent(data: "[DONE]")])
    }

    @Test func crlfAndLoneCRAreLineEnds() throws {
        let events = try parseEverySplit("data: one\r\n\r\ndata: two\r\rdata: three\n\n")
        #expect(events.map(\.data) == ["one", "two", "three"])
    }

    @Test func multiLineDataIsJoinedWithNewlines() throws {
        let events = try parseEverySplit("data: first\ndata: second\ndata\n\n")
        #expect(events.map(\.data) == ["first\nsecond\n"])
    }

    @Test func commentsFieldsAndTypes() throws {
        let text = ": keep-alive\n\nevent: error\nid: 7\nretry: 100\nunknown: x\ndata:no-space\n\n"
        let events = try parseEverySplit(text)
        #expect(events == [ServerSentEvent(type: "error", data: "no-space", id: "7")])
    }

    @Test func utf8SplitInsideACharacterSurvives() throws {
        let events = try parseEverySplit("data: Grüße, 🙂\n\n")
        #expect(events.map(\.data) == ["Grüße, 🙂"])
    }

    @Test func byteOrderMarkAtTheStartIsIgnored() throws {
        let events = try parseEverySplit("\u{FEFF}data: x\n\n")
        #expect(events.map(\.data) == ["x"])
    }

    @Test func anEventWithoutDataIsNotDispatched() throws {
        #expect(try parseEverySplit("event: ping\n\n: only a comment\n\n").isEmpty)
    }

    @Test func anUnfinishedEventIsNotDispatched() throws {
        var parser = ServerSentEventParser()
        #expect(try parser.feed(Array("data: complete\n\ndata: cut off".utf8)).map(\.data) == ["complete"])
    }

    @Test func aLineOverTheLimitIsABadResponse() throws {
        var parser = ServerSentEventParser(maxLineBytes: 16)
        #expect(try parser.feed(Array("data: 0123456789\n".utf8)).isEmpty)
        do {
            _ = try parser.feed(Array("data: 0123456789ABCDEF".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badResponse)
        }
    }

    @Test func dataOverTheEventLimitIsABadResponse() throws {
        var parser = ServerSentEventParser(maxLineBytes: 100, maxEventBytes: 20)
        do {
            _ = try parser.feed(Array("data: 0123456789\ndata: 0123456789\n".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badResponse)
        }
    }
}
