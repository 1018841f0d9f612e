import NIOCore
import Testing

@testable import RESP

/// Reply shapes differ between RESP2 and RESP3; each decoder must read both.
@Suite struct RedisCommandDecodingTests {
    func b(_ s: String) -> RESPValue { .bulkString(ByteBuffer(string: s)) }

    @Test func errorRepliesBecomeTypedErrors() {
        let command = RedisCommand<String?>.get("k")
        do {
            _ = try command.decode(.simpleError(ByteBuffer(string: "WRONGTYPE Operation against a key holding the wrong kind of value")))
            Issue.record("should throw")
        } catch {
            #expect(error.code == .server)
            #expect(error.serverPrefix == "WRONGTYPE")
            #expect(error.isWrongType)
            #expect(error.message == "Operation against a key holding the wrong kind of value")
        }
        #expect(RedisError.server("BUSYGROUP Consumer Group name already exists").isBusyGroup)
        #expect(RedisError.server("NOSCRIPT No matching script.").isNoScript)
    }

    @Test func hgetallFromMapOrFlatArray() throws {
        let command = RedisCommand<[String: String]>.hgetall("h")
        #expect(try command.decode(.array([b("a"), b("1"), b("b"), b("2")])) == ["a": "1", "b": "2"])
        #expect(try command.decode(.map([RESPMapEntry(key: b("a"), value: b("1"))])) == ["a": "1"])
    }

    @Test func streamReadsFromBothProtocols() throws {
        let entry = RESPValue.array([b("1-0"), .array([b("f"), b("v")])])
        let resp2 = RESPValue.array([.array([b("s"), .array([entry])])])
        let resp3 = RESPValue.map([RESPMapEntry(key: b("s"), value: .array([entry]))])
        let command = RedisCommand<[RedisStreamRead]>.xreadgroup(group: "g", consumer: "c", streams: [("s", ">")])
        let expected = [RedisStreamRead(stream: "s", entries: [RedisStreamEntry(id: "1-0", fields: [RedisStreamField(name: "f", value: "v")])])]
        #expect(try command.decode(resp2) == expected)
        #expect(try command.decode(resp3) == expected)
        #expect(try command.decode(.null) == [])
        #expect(expected[0].entries[0]["f"] == "v")
    }

    @Test func deletedPendingEntryHasNoFields() throws {
        let command = RedisCommand<[RedisStreamEntry]>.xrange("s")
        #expect(try command.decode(.array([.array([b("1-0"), .null])])) == [RedisStreamEntry(id: "1-0", fields: [])])
    }

    @Test func setReplies() throws {
        let set = RedisCommand<Bool>.set("k", "v", condition: .ifNotExists)
        #expect(try set.decode(.simpleString(ByteBuffer(string: "OK"))))
        #expect(try !set.decode(.null))
        #expect(set.arguments.map(\.text) == ["SET", "k", "v", "NX"])
        let px = RedisCommand<Bool>.set("k", "v", expiration: .after(.milliseconds(1500)))
        #expect(px.arguments.map(\.text) == ["SET", "k", "v", "PX", "1500"])
    }

    @Test func xaddArguments() {
        let c = RedisCommand<String>.xadd("s", trim: .approximateMaxLength(1000), fields: [("a", "1")])
        #expect(c.arguments.map(\.text) == ["XADD", "s", "MAXLEN", "~", "1000", "*", "a", "1"])
        let r = RedisCommand<[RedisStreamRead]>.xreadgroup(group: "g", consumer: "c", streams: [("s", ">")], count: 10, block: .seconds(2))
        #expect(r.arguments.map(\.text) == ["XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "2000", "STREAMS", "s", ">"])
        #expect(r.blockingTimeout == .seconds(2))
    }

    @Test func zrangeWithScoresBothShapes() throws {
        let c = RedisCommand<[(member: String, score: Double)]>.zrangebyscoreWithScores("z", min: .negativeInfinity, max: .exclusive(5))
        #expect(c.arguments.map(\.text) == ["ZRANGEBYSCORE", "z", "-inf", "(5", "WITHSCORES"])
        let flat = try c.decode(.array([b("a"), b("1.5")]))
        let pairs = try c.decode(.array([.array([b("a"), .double(1.5)])]))
        #expect(flat.map(\.member) == ["a"] && flat.map(\.score) == [1.5])
        #expect(pairs.map(\.member) == ["a"] && pairs.map(\.score) == [1.5])
    }

    @Test func scriptSHA1MatchesRedis() {
        // Values from `redis-cli SCRIPT LOAD`.
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(SHA1.hexDigest([UInt8]()) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hexDigest(Array(String(repeating: "a", count: 1000).utf8)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }

    @Test func xinfoGroupsFromFlatRows() throws {
        let row = RESPValue.array([
            b("name"), b("g"), b("consumers"), .integer(2), b("pending"), .integer(3), b("last-delivered-id"), b("5-0"), b("lag"), .integer(1),
        ])
        let info = try RedisCommand<[RedisStreamGroupInfo]>.xinfoGroups("s").decode(.array([row]))
        #expect(info == [RedisStreamGroupInfo(name: "g", consumers: 2, pending: 3, lastDeliveredID: "5-0", lag: 1)])
    }
}
