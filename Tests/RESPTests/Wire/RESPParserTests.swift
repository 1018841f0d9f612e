import NIOCore
import Testing

@testable import RESP

@Suite struct RESPParserTests {
    static func bulk(_ s: String) -> RESPValue { .bulkString(ByteBuffer(string: s)) }
    static func simple(_ s: String) -> RESPValue { .simpleString(ByteBuffer(string: s)) }

    /// Inputs covering every RESP2 and RESP3 type, with the values they must produce.
    static let samples: [(input: String, output: [RESPValue])] = [
        ("+OK\r\n", [simple("OK")]),
        ("-ERR unknown command\r\n", [.simpleError(ByteBuffer(string: "ERR unknown command"))]),
        (":0\r\n:-42\r\n:9223372036854775807\r\n", [.integer(0), .integer(-42), .integer(.max)]),
        ("$5\r\nhello\r\n$0\r\n\r\n$-1\r\n", [bulk("hello"), bulk(""), .null]),
        ("$4\r\na\r\nb\r\n", [bulk("a\r\nb")]),
        ("*2\r\n$3\r\nfoo\r\n:1\r\n*0\r\n*-1\r\n", [.array([bulk("foo"), .integer(1)]), .array([]), .null]),
        ("*2\r\n*1\r\n+a\r\n*2\r\n:1\r\n*1\r\n$1\r\nz\r\n", [.array([.array([simple("a")]), .array([.integer(1), .array([bulk("z")])])])]),
        ("_\r\n#t\r\n#f\r\n", [.null, .boolean(true), .boolean(false)]),
        (",1.5\r\n,-inf\r\n,inf\r\n,10\r\n", [.double(1.5), .double(-.infinity), .double(.infinity), .double(10)]),
        ("(3492890328409238509324850943850943825024385\r\n", [.bigNumber("3492890328409238509324850943850943825024385")]),
        ("!21\r\nSYNTAX invalid syntax\r\n", [.bulkError(ByteBuffer(string: "SYNTAX invalid syntax"))]),
        ("=15\r\ntxt:Some string\r\n", [.verbatimString(format: "txt", ByteBuffer(string: "Some string"))]),
        (
            "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
            [
                .map([RESPMapEntry(key: simple("first"), value: .integer(1)), RESPMapEntry(key: simple("second"), value: .integer(2))])
            ]
        ),
        ("~2\r\n+a\r\n+b\r\n", [.set([simple("a"), simple("b")])]),
        (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", [.push([bulk("message"), bulk("ch"), bulk("hi")])]),
        (
            "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
            [
                .array([.integer(2_039_123), .integer(9_543_892)])
            ]
        ),
        ("*2\r\n|1\r\n+ttl\r\n:3\r\n:1\r\n:2\r\n", [.array([.integer(1), .integer(2)])]),
    ]

    static func parseAll(_ chunks: [ByteBuffer], limits: RESPParserLimits = .init()) throws -> [RESPValue] {
        var parser = RESPParser(limits: limits)
        var buffer = ByteBuffer()
        var out: [RESPValue] = []
        for chunk in chunks {
            var chunk = chunk
            buffer.writeBuffer(&chunk)
            while let value = try parser.next(from: &buffer) { out.append(value) }
            buffer.discardReadBytes()
        }
        #expect(buffer.readableBytes == 0)
        #expect(!parser.isMidValue)
        return out
    }

    @Test(arguments: samples.indices)
    func parsesWholeInput(_ index: Int) throws {
        let (input, output) = Self.samples[index]
        #expect(try Self.parseAll([ByteBuffer(string: input)]) == output)
    }

    /// Splits every sample at every point, and also feeds it one byte at a time.
    @Test(arguments: samples.indices)
    func parsesAtEverySplitPoint(_ index: Int) throws {
        let (input, output) = Self.samples[index]
        let bytes = Array(input.utf8)
        for split in 0...bytes.count {
            let chunks = [ByteBuffer(bytes: bytes[..<split]), ByteBuffer(bytes: bytes[split...])]
            #expect(try Self.parseAll(chunks) == output, "split at \(split)")
        }
        #expect(try Self.parseAll(bytes.map { ByteBuffer(bytes: [$0]) }) == output)
    }

    @Test func allSamplesConcatenatedAtEverySplitPoint() throws {
        let bytes = Array(Self.samples.map(\.input).joined().utf8)
        let output = Self.samples.flatMap(\.output)
        for split in stride(from: 0, through: bytes.count, by: 1) {
            let chunks = [ByteBuffer(bytes: bytes[..<split]), ByteBuffer(bytes: bytes[split...])]
            #expect(try Self.parseAll(chunks) == output)
        }
    }

    @Test func needsMoreWithoutConsumingPartialScalar() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "$10\r\nhello")
        #expect(try parser.next(from: &buffer) == nil)
        #expect(buffer.readableBytes == 10)
        buffer.writeString("world\r\n")
        #expect(try parser.next(from: &buffer) == Self.bulk("helloworld"))
    }

    @Test(arguments: [
        ("?x\r\n", RESPParserError.Reason.invalidTypeByte(UInt8(ascii: "?"))),
        (":12a\r\n", .invalidInteger),
        (":\r\n", .invalidInteger),
        (":99999999999999999999\r\n", .invalidInteger),
        ("$-2\r\n", .invalidLength),
        ("$3\r\nabcd\r\n", .missingCRLF),
        ("+a\rb\r\n", .missingCRLF),
        ("#x\r\n", .invalidBoolean),
        (",abc\r\n", .invalidDouble),
        ("=2\r\nab\r\n", .invalidVerbatimString),
        ("*-5\r\n", .invalidLength),
        ("_x\r\n", .missingCRLF),
    ])
    func rejectsMalformedInput(_ input: String, _ reason: RESPParserError.Reason) {
        #expect(throws: RESPParserError(reason)) { try Self.parseAll([ByteBuffer(string: input)]) }
    }

    @Test func limitsNestingDepth() throws {
        let limits = RESPParserLimits(maximumDepth: 3)
        #expect(try Self.parseAll([ByteBuffer(string: "*1\r\n*1\r\n*1\r\n:1\r\n")], limits: limits).count == 1)
        #expect(throws: RESPParserError(.nestingTooDeep)) {
            try Self.parseAll([ByteBuffer(string: "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n")], limits: limits)
        }
        // Deep nesting must fail cleanly, never recurse.
        let deep = String(repeating: "*1\r\n", count: 100_000)
        #expect(throws: RESPParserError(.nestingTooDeep)) { try Self.parseAll([ByteBuffer(string: deep)]) }
    }

    @Test func limitsBulkAndAggregateSizeAndLineLength() {
        let limits = RESPParserLimits(maximumBulkLength: 4, maximumAggregateCount: 2, maximumLineLength: 8)
        #expect(throws: RESPParserError(.bulkTooLong)) { try Self.parseAll([ByteBuffer(string: "$5\r\n")], limits: limits) }
        #expect(throws: RESPParserError(.aggregateTooLarge)) { try Self.parseAll([ByteBuffer(string: "*3\r\n")], limits: limits) }
        #expect(throws: RESPParserError(.aggregateTooLarge)) { try Self.parseAll([ByteBuffer(string: "%3\r\n")], limits: limits) }
        #expect(throws: RESPParserError(.lineTooLong)) { try Self.parseAll([ByteBuffer(string: "+1234567890")], limits: limits) }
        // A huge announced size allocates nothing up front.
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "*16777216\r\n")
        #expect((try? parser.next(from: &buffer)) as RESPValue?? == .some(nil))
        #expect(parser.isMidValue)
    }

    @Test func decoderAdapterYieldsValues() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "+OK\r\n:1")
        #expect(try decoder.decode(buffer: &buffer) == Self.simple("OK"))
        #expect(try decoder.decode(buffer: &buffer) == nil)
        buffer.writeString("\r\n")
        #expect(try decoder.decodeLast(buffer: &buffer, seenEOF: true) == .integer(1))
    }
}
