import NIOCore
import Testing

@testable import RESP

/// The reader the channel handler parses with: reads appended as they come, values taken
/// out whole, the unparsed tail kept across reads.
@Suite struct RESPReaderTests {
    /// Feeds `input` in pieces of `size` bytes, taking out every value after each piece.
    static func read(_ input: String, in size: Int) throws -> [RESPValue] {
        var reader = RESPReader()
        var values: [RESPValue] = []
        let bytes = Array(input.utf8)
        for start in stride(from: 0, to: bytes.count, by: size) {
            reader.append(ByteBuffer(bytes: bytes[start..<min(bytes.count, start + size)]))
            while let value = try reader.next() { values.append(value) }
        }
        #expect(!reader.isMidValue)
        return values
    }

    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func everySampleSurvivesAnySplit(size: Int) throws {
        for (input, output) in RESPParserTests.samples {
            #expect(try Self.read(input, in: size) == output, "\(input.debugDescription) in pieces of \(size)")
        }
    }

    @Test func holdsAnIncompleteValueUntilItsLastByte() throws {
        var reader = RESPReader()
        reader.append(ByteBuffer(string: "+OK\r\n*2\r\n$5\r\nhel"))
        #expect(try reader.next() == RESPParserTests.simple("OK"))
        #expect(try reader.next() == nil)
        #expect(reader.isMidValue)
        reader.append(ByteBuffer(string: "lo\r\n:7\r\n"))
        #expect(try reader.next() == .array([RESPParserTests.bulk("hello"), .integer(7)]))
        #expect(try reader.next() == nil)
        #expect(!reader.isMidValue)
    }

    @Test func valuesTakenOutStayIntactWhileMoreIsAppended() throws {
        // A parsed bulk string shares the read's storage; appending the next read must not
        // overwrite it.
        var reader = RESPReader()
        reader.append(ByteBuffer(string: "$3\r\nabc\r\n$3\r\nd"))
        let first = try reader.next()
        #expect(try reader.next() == nil)
        reader.append(ByteBuffer(string: "ef\r\n"))
        #expect(try reader.next() == RESPParserTests.bulk("def"))
        #expect(first == RESPParserTests.bulk("abc"))
    }

    @Test func rejectsBadInputAndKeepsItsLimits() {
        var reader = RESPReader()
        reader.append(ByteBuffer(string: "+OK\r\n?\r\n"))
        #expect((try? reader.next()) == RESPParserTests.simple("OK"))
        #expect(throws: RESPParserError(.invalidTypeByte(UInt8(ascii: "?")))) { try reader.next() }
        var limited = RESPReader(limits: RESPParserLimits(maximumBulkLength: 4))
        limited.append(ByteBuffer(string: "$5\r\n"))
        #expect(throws: RESPParserError(.bulkTooLong)) { try limited.next() }
    }
}
