import NIOCore
import Testing

@testable import RESP

extension RedisIntegration {

    @Suite(.enabled(if: TestRedis.plainAvailable, "needs TEST_REDIS_URL"))
    struct RedisPubSubIntegrationTests {
        @Test(arguments: RedisIntegration.RedisCommandsIntegrationTests.protocols)
        func subscribeAndPatternSubscribe(_ version: RedisConfiguration.ProtocolVersion) async throws {
            var c = try TestRedis.configuration()
            c.protocolVersion = version
            let channel = TestRedis.key()
            try await withRedisClient(c) { client async throws in
                let direct = try await client.subscribe(to: channel)
                let patterned = try await client.psubscribe(to: channel + "*")
                #expect(try await client.publish("hello", to: channel) == 2)
                var directIterator = direct.makeAsyncIterator()
                var patternIterator = patterned.makeAsyncIterator()
                let m1 = try #require(try await directIterator.next())
                #expect(m1.channel == channel && m1.string == "hello" && m1.pattern == nil)
                let m2 = try #require(try await patternIterator.next())
                #expect(m2.channel == channel && m2.string == "hello" && m2.pattern == channel + "*")

                // Commands keep working on the pool while subscribed.
                #expect(try await client.ping() == "PONG")

                // A second local subscriber to the same channel shares the server subscription.
                let second = try await client.subscribe(to: channel)
                #expect(try await client.publish("again", to: channel) == 2)
                var secondIterator = second.makeAsyncIterator()
                #expect(try await directIterator.next()?.string == "again")
                #expect(try await secondIterator.next()?.string == "again")

                // "again" matched the pattern too (its pmessage may follow the messages), then
                // the subscription ends when unsubscribed.
                #expect(try await patternIterator.next()?.string == "again")
                patterned.unsubscribe()
                #expect(try await patternIterator.next() == nil)
                direct.unsubscribe()
                second.unsubscribe()
                // Server-side unsubscribe is asynchronous: wait until no one is listening.
                while try await client.publish("gone", to: channel) != 0 { await Task.yield() }
            }
        }

        /// Kills the pub/sub connection on the server; the client reconnects, resubscribes and
        /// keeps delivering to the same subscription.
        @Test(arguments: RedisIntegration.RedisCommandsIntegrationTests.protocols)
        func resubscribesAfterTheConnectionIsKilled(_ version: RedisConfiguration.ProtocolVersion) async throws {
            var c = try TestRedis.configuration()
            c.protocolVersion = version
            let name = "pubsub-\(UInt32.random(in: 0...UInt32.max))"
            c.clientName = name
            let channel = TestRedis.key()
            try await withRedisClient(c) { client async throws in
                let subscription = try await client.subscribe(to: channel)
                let pattern = try await client.psubscribe(to: channel + "*")
                var states = client.subscriberStateChanges().makeAsyncIterator()
                #expect(await states.next()?.state == .connected)

                // Kill exactly our subscriber connection (other tests run in parallel).
                let list = try await client.send(RedisCommand<String>(["CLIENT", "LIST", "TYPE", "pubsub"]))
                let line = try #require(list.split(separator: "\n").first { $0.contains(" name=\(name) ") })
                let id = try #require(line.split(separator: " ").first { $0.hasPrefix("id=") }.flatMap { Int($0.dropFirst(3)) })
                #expect(try await client.send(.clientKill(id: id)) == 1)

                var seen: [RedisConnectionState] = []
                while let change = await states.next() {
                    seen.append(change.state)
                    if change.state == .connected { break }
                }
                #expect(seen.first == .disconnected)
                #expect(seen.last == .connected)

                #expect(try await client.publish("after", to: channel) == 2)
                var iterator = subscription.makeAsyncIterator()
                #expect(try await iterator.next()?.string == "after")
                var patternIterator = pattern.makeAsyncIterator()
                let viaPattern = try await patternIterator.next()
                #expect(viaPattern?.string == "after" && viaPattern?.pattern == channel + "*")
            }
        }

        @Test func subscriptionsEndWhenTheClientShutsDown() async throws {
            let channel = TestRedis.key()
            let subscription = try await withRedisClient(try TestRedis.configuration()) { client async throws in
                try await client.subscribe(to: channel)
            }
            var iterator = subscription.makeAsyncIterator()
            #expect(try await iterator.next() == nil)
        }
    }
}
