import LLM
import Testing

@Suite struct ChatStreamAssemblerTests {
    func chunk(_ delta: String, finish: String? = nil) -> String {
        #"{"model":"m","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish.map { "\"\($0)\"" } ?? "null")}]}"#
    }

    @Test func textIsReportedFirstTokenFirstAndAssembled() throws {
        var assembler = ChatStreamAssembler()
        var events: [ChatStreamEvent] = []
        events += try assembler.consume(chunk(#"{"role":"assistant","content":""}"#))
        events += try assembler.consume(chunk(#"{"content":"Hello "}"#))
        events += try assembler.consume(chunk(#"{"content":"there"}"#))
        events += try assembler.consume(chunk("{}", finish: "stop"))
        events += try assembler.consume(#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#)
        events += try assembler.consume("[DONE]")
        #expect(events == [.firstToken, .contentDelta("Hello "), .contentDelta("there")])
        let completion = try assembler.completion()
        #expect(completion.content == "Hello there")
        #expect(completion.finishReason == .stop)
        #expect(completion.usage == TokenUsage(promptTokens: 12, completionTokens: 3))
        #expect(completion.model == "m")
    }

    @Test func toolCallDeltasAreMergedByIndex() throws {
        var assembler = ChatStreamAssembler()
        var events: [ChatStreamEvent] = []
        events += try assembler.consume(
            chunk(#"{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"handover","arguments":""}}]}"#)
        )
        events += try assembler.consume(chunk(#"{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"lookup","arguments":"{\"q\""}}]}"#))
        events += try assembler.consume(chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"reason\":"}}]}"#))
        events += try assembler.consume(chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"\"asked\"}"}}]}"#))
        events += try assembler.consume(chunk(#"{"tool_calls":[{"index":1,"function":{"arguments":":\"x\"}"}}]}"#))
        events += try assembler.consume(chunk("{}", finish: "tool_calls"))
        events += try assembler.consume("[DONE]")
        #expect(events == [.firstToken, .toolCallStarted(id: "call_a", name: "handover"), .toolCallStarted(id: "call_b", name: "lookup")])
        let completion = try assembler.completion()
        #expect(completion.content == nil)
        #expect(completion.finishReason == .toolCalls)
        #expect(
            completion.toolCalls == [
                ToolCall(id: "call_a", name: "handover", arguments: #"{"reason":"asked"}"#),
                ToolCall(id: "call_b", name: "lookup", arguments: #"{"q":"x"}"#),
            ]
        )
        #expect(completion.toolCall(named: "handover")?.decodedArguments == ["reason": "asked"])
    }

    @Test func aFinishReasonWithoutDoneIsComplete() throws {
        var assembler = ChatStreamAssembler()
        _ = try assembler.consume(chunk(#"{"content":"ok"}"#, finish: "stop"))
        #expect(try assembler.completion().content == "ok")
    }

    @Test func aStreamThatStopsEarlyIsABadResponse() throws {
        var assembler = ChatStreamAssembler()
        _ = try assembler.consume(chunk(#"{"content":"Hel"}"#))
        #expect(throws: LLMError.self) { try assembler.completion() }
        do {
            _ = try assembler.completion()
        } catch {
            #expect(error.code == .badResponse)
        }
    }

    @Test func aChunkThatIsNotJSONIsABadResponse() {
        var assembler = ChatStreamAssembler()
        do {
            _ = try assembler.consume(#"{"choices": [ {"delta": {"content": "oops"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badResponse)
        }
    }

    @Test func anErrorObjectMidStreamIsAServerError() {
        var assembler = ChatStreamAssembler()
        do {
            _ = try assembler.consume(#"{"error":{"message":"overloaded","type":"server_error"}}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .serverError)
        }
    }

    @Test func aToolCallWithoutANameIsABadResponse() throws {
        var assembler = ChatStreamAssembler()
        _ = try assembler.consume(chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}"#, finish: "tool_calls"))
        do {
            _ = try assembler.completion()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badResponse)
        }
    }
}
