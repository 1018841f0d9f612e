import NIOCore
import Testing

@testable import RESP

@Suite struct RedisSubscriptionRegistryTests {
    @Test func subscribesOncePerChannelAndUnsubscribesWithTheLast() {
        var r = RedisSubscriptionRegistry()
        #expect(r.add(1, channels: ["a", "b"], patterns: ["p*"]) == (["a", "b"], ["p*"]))
        #expect(r.add(2, channels: ["b", "c"], patterns: []) == (["c"], []))
        #expect(r.channels == ["a", "b", "c"])
        #expect(r.remove(1) == (["a"], ["p*"]))
        #expect(r.remove(1) == ([], []))
        #expect(r.remove(2) == (["b", "c"], []))
        #expect(r.isEmpty)
    }

    @Test func routesMessagesByChannelOrPattern() {
        var r = RedisSubscriptionRegistry()
        _ = r.add(1, channels: ["news"], patterns: [])
        _ = r.add(2, channels: [], patterns: ["n*"])
        _ = r.add(3, channels: ["news"], patterns: ["n*"])
        let direct = RedisPubSubMessage(channel: "news", pattern: nil, payload: ByteBuffer())
        let viaPattern = RedisPubSubMessage(channel: "news", pattern: "n*", payload: ByteBuffer())
        #expect(r.receivers(of: direct) == [1, 3])
        #expect(r.receivers(of: viaPattern) == [2, 3])
    }

    @Test func decodesPubSubFrames() {
        func b(_ s: String) -> RESPValue { .bulkString(ByteBuffer(string: s)) }
        #expect(
            RedisPubSubFrame(.push([b("message"), b("ch"), b("hi")]))
                == .message(RedisPubSubMessage(channel: "ch", pattern: nil, payload: ByteBuffer(string: "hi")))
        )
        #expect(
            RedisPubSubFrame(.array([b("pmessage"), b("c*"), b("ch"), b("hi")]))
                == .message(RedisPubSubMessage(channel: "ch", pattern: "c*", payload: ByteBuffer(string: "hi")))
        )
        #expect(RedisPubSubFrame(.push([b("subscribe"), b("ch"), .integer(1)])) == .subscribed(kind: "subscribe", name: "ch"))
        #expect(RedisPubSubFrame(.push([b("unsubscribe"), .null, .integer(0)])) == .unsubscribed(kind: "unsubscribe", name: nil))
        #expect(RedisPubSubFrame(.push([b("invalidate"), .null])) == nil)
    }
}
