import NIOCore
import Testing

@testable import RESP

extension RedisIntegration {

    /// Every command family against a real redis-server, over RESP2 and RESP3.
    @Suite(.enabled(if: TestRedis.plainAvailable, "needs TEST_REDIS_URL"))
    struct RedisCommandsIntegrationTests {
        static let protocols: [RedisConfiguration.ProtocolVersion] = [.resp2, .resp3]

        func configuration(_ version: RedisConfiguration.ProtocolVersion) throws -> RedisConfiguration {
            var c = try TestRedis.configuration()
            c.protocolVersion = version
            return c
        }

        @Test(arguments: protocols)
        func negotiatesTheRequestedProtocol(_ version: RedisConfiguration.ProtocolVersion) async throws {
            let speaks = try await withRedisConnection(try configuration(version)) { $0.protocolVersion }
            #expect(speaks == (version == .resp2 ? .resp2 : .resp3))
            let automatic = try await withRedisConnection(try configuration(.automatic)) { $0.protocolVersion }
            #expect(automatic == .resp3)
        }

        @Test(arguments: protocols)
        func stringsAndKeys(_ version: RedisConfiguration.ProtocolVersion) async throws {
            let k = TestRedis.key()
            try await withRedisClient(try configuration(version)) { client async throws in
                #expect(try await client.get(k) == nil)
                #expect(try await client.set(k, to: "v1"))
                #expect(try await client.get(k) == "v1")
                #expect(try await !client.set(k, to: "v2", condition: .ifNotExists))
                #expect(try await client.set(k, to: "v3", condition: .ifExists, expiration: .after(.seconds(60))))
                let pttl = try await client.send(.pttl(RedisArgument(k)))
                #expect(pttl > 50_000 && pttl <= 60_000)
                #expect(try await client.set(k, to: "v4", expiration: .keepTTL))
                #expect(try await client.send(.ttl(RedisArgument(k))) > 0)
                #expect(try await client.send(.mget([RedisArgument(k), RedisArgument(k + ":none")])) == ["v4", nil])
                #expect(try await client.send(.exists(RedisArgument(k))) == 1)
                #expect(try await client.send(.getdel(RedisArgument(k))) == "v4")
                #expect(try await client.send(.getdel(RedisArgument(k))) == nil)
                #expect(try await client.del(k) == 0)

                let counter = k + ":n"
                #expect(try await client.incr(counter) == 1)
                #expect(try await client.send(.incrby(RedisArgument(counter), 41)) == 42)
                #expect(try await client.send(.decr(RedisArgument(counter))) == 41)
                #expect(try await client.send(.expire(RedisArgument(counter), seconds: 100)))
                #expect(try await client.expire(counter, after: .milliseconds(90_000)))
                #expect(try await client.send(.pexpire(RedisArgument(counter + ":none"), .seconds(1))) == false)
                let binary = ByteBuffer(bytes: [0, 255, 13, 10])
                _ = try await client.send(.set(RedisArgument(k), RedisArgument(binary)))
                #expect(try await client.send(.getBuffer(RedisArgument(k))) == binary)
                _ = try await client.send(.del(RedisArgument(k), RedisArgument(counter)))
            }
        }

        @Test(arguments: protocols)
        func hashesSetsAndSortedSets(_ version: RedisConfiguration.ProtocolVersion) async throws {
            let k = TestRedis.key()
            try await withRedisClient(try configuration(version)) { client async throws in
                let h = k + ":h"
                #expect(try await client.hset(h, ["a": "1", "b": "2"]) == 2)
                #expect(try await client.send(.hset(RedisArgument(h), field: "c", value: "3")) == 1)
                #expect(try await client.hget(h, field: "a") == "1")
                #expect(try await client.hget(h, field: "zz") == nil)
                #expect(try await client.hgetall(h) == ["a": "1", "b": "2", "c": "3"])
                #expect(try await client.send(.hincrby(RedisArgument(h), field: "a", by: 5)) == 6)
                #expect(try await client.send(.hdel(RedisArgument(h), fields: ["a", "b", "nope"])) == 2)
                #expect(try await client.hgetall(h + ":none") == [:])
                #expect(try await client.send(.hmget(RedisArgument(h), fields: ["c", "nope", "a"])) == ["3", nil, nil], "a and b were deleted")

                let s = k + ":s"
                #expect(try await client.send(.sadd(RedisArgument(s), ["x", "y", "z", "x"])) == 3)
                #expect(try await client.send(.srem(RedisArgument(s), ["z"])) == 1)
                #expect(Set(try await client.send(.smembers(RedisArgument(s)))) == ["x", "y"])
                #expect(try await client.send(.sismember(RedisArgument(s), "x")))
                #expect(try await client.send(.scard(RedisArgument(s))) == 2)

                let z = k + ":z"
                #expect(try await client.send(.zadd(RedisArgument(z), [(1, "one"), (2.5, "two"), (3, "three")])) == 3)
                #expect(try await client.send(.zrangebyscore(RedisArgument(z), min: .inclusive(2), max: .positiveInfinity)) == ["two", "three"])
                #expect(try await client.send(.zrangebyscore(RedisArgument(z), min: .negativeInfinity, max: .exclusive(3), limit: (1, 5))) == ["two"])
                let scored = try await client.send(.zrangebyscoreWithScores(RedisArgument(z), min: .negativeInfinity, max: .positiveInfinity))
                #expect(scored.map(\.member) == ["one", "two", "three"])
                #expect(scored.map(\.score) == [1, 2.5, 3])
                #expect(try await client.send(.zscore(RedisArgument(z), "two")) == 2.5)
                #expect(try await client.send(.zrem(RedisArgument(z), ["one"])) == 1)
                #expect(try await client.send(.zcard(RedisArgument(z))) == 2)
                _ = try await client.send(.del([RedisArgument(h), RedisArgument(s), RedisArgument(z)]))
            }
        }

        @Test(arguments: protocols)
        func serverCommands(_ version: RedisConfiguration.ProtocolVersion) async throws {
            try await withRedisClient(try configuration(version)) { client async throws in
                #expect(try await client.ping() == "PONG")
                #expect(try await client.send(.ping("hi")) == "hi")
                #expect(try await client.send(.echo("echo")) == "echo")
                let info = try await client.send(.info("server"))
                #expect(info.contains("redis_version"))
                try await client.withConnection { connection async throws in
                    try await connection.send(.clientSetName("resp-test"))
                    #expect(try await connection.send(.clientGetName()) == "resp-test")
                    #expect(try await connection.send(.clientID()) > 0)
                }
                #expect(try await client.publish("nobody", to: TestRedis.key()) == 0)
                #expect(try await client.send(.dbsize()) >= 0)
            }
        }

        @Test(arguments: protocols)
        func serverErrorsAreTyped(_ version: RedisConfiguration.ProtocolVersion) async throws {
            let k = TestRedis.key()
            try await withRedisClient(try configuration(version)) { client async throws in
                try await client.set(k, to: "string")
                let wrongType = await RedisError.caught { _ = try await client.send(.hget(RedisArgument(k), field: "f")) }
                #expect(wrongType?.code == .server)
                #expect(wrongType?.serverPrefix == "WRONGTYPE")
                let unknown = await RedisError.caught { _ = try await client.send(RedisCommand<RESPValue>(["NOSUCHCOMMAND"])) }
                #expect(unknown?.serverPrefix == "ERR")
                #expect(unknown?.message.contains("unknown command") == true)
                // The connection is still usable afterwards.
                #expect(try await client.get(k) == "string")
                try await client.del(k)
            }
        }

        @Test(arguments: protocols)
        func scriptsUseEvalshaWithEvalFallback(_ version: RedisConfiguration.ProtocolVersion) async throws {
            let k = TestRedis.key()
            // A script unique to this run, so NOSCRIPT is guaranteed the first time.
            let script = RedisScript("-- \(k)\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
            try await withRedisClient(try configuration(version)) { client async throws in
                let exists = RedisCommand<[Int]>(["SCRIPT", "EXISTS", RedisArgument(script.sha1)])
                #expect(try await client.send(exists) == [0])
                let noscript = await RedisError.caught { _ = try await client.send(.evalsha(script.sha1, keys: [RedisArgument(k)], arguments: [1])) }
                #expect(noscript?.isNoScript == true)
                #expect(try await client.evalScript(script, keys: [RedisArgument(k)], arguments: [5], as: Int.self) == 5)
                #expect(try await client.send(exists) == [1])
                #expect(try await client.send(.scriptLoad(script.source)) == script.sha1)
                #expect(try await client.evalScript(script, keys: [RedisArgument(k)], arguments: [2], as: Int.self) == 7)
                try await client.del(k)
            }
        }

        @Test(arguments: protocols)
        func pipelinesTenThousandCommands(_ version: RedisConfiguration.ProtocolVersion) async throws {
            let k = TestRedis.key()
            try await withRedisClient(try configuration(version)) { client async throws in
                let commands = (0..<10_000).map { _ in RedisCommand<Int>.incr(RedisArgument(k)) }
                let results = try await client.pipeline(commands)
                #expect(results.count == 10_000)
                #expect(try results.map { try $0.get() } == Array(1...10_000))

                let (set, value, count, missing) = try await client.pipeline(
                    .set(RedisArgument(k + ":s"), RedisArgument("x")),
                    .get(RedisArgument(k + ":s")),
                    .incr(RedisArgument(k)),
                    .get(RedisArgument(k + ":missing"))
                )
                #expect(set && value == "x" && count == 10_001 && missing == nil)

                // An error reply fails only its own command.
                let mixed = try await client.pipeline([
                    RedisCommand<Int>.incr(RedisArgument(k)), .incr(RedisArgument(k + ":s")), .incr(RedisArgument(k)),
                ])
                #expect(try mixed[0].get() == 10_002)
                #expect(throws: RedisError.self) { try mixed[1].get() }
                #expect(try mixed[2].get() == 10_003)
                try await client.del(k, k + ":s")
            }
        }

        @Test func concurrentCallersShareThePool() async throws {
            var c = try configuration(.automatic)
            c.pool.maximumConnections = 4
            let k = TestRedis.key()
            try await withRedisClient(c) { client async throws in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<50 {
                        group.addTask { for _ in 0..<20 { try await client.incr(k) } }
                    }
                    try await group.waitForAll()
                }
                #expect(try await client.get(k) == "1000")
                try await client.del(k)
            }
        }

        @Test func selectsTheDatabaseFromTheURL() async throws {
            let base = try TestRedis.required("TEST_REDIS_URL")
            let k = TestRedis.key()
            var db3 = try RedisConfiguration(url: base + "/3")
            db3.protocolVersion = .resp3
            #expect(db3.database == 3)
            try await withRedisClient(db3) { client async throws in
                try await client.set(k, to: "in-3")
                let info = try await client.send(RedisCommand<String>(["CLIENT", "INFO"]))
                #expect(info.contains("db=3"))
            }
            try await withRedisClient(try configuration(.resp2)) { client async throws in
                #expect(try await client.get(k) == nil)
            }
            try await withRedisClient(try RedisConfiguration(url: base + "/3?protocol=2")) { client async throws in
                #expect(try await client.get(k) == "in-3")
                try await client.del(k)
            }
        }
    }
}
