import NIOCore
import Testing

@testable import RESP

extension RedisIntegration {

    /// Failure modes: typed errors for timeouts, refused connections, pool exhaustion, and the
    /// pool reconnecting after its connection is killed.
    @Suite(.enabled(if: TestRedis.plainAvailable, "needs TEST_REDIS_URL"))
    struct RedisConnectionIntegrationTests {
        @Test func commandTimeoutIsTypedAndClosesTheConnection() async throws {
            var c = try TestRedis.configuration()
            c.commandTimeout = .milliseconds(200)
            let k = TestRedis.key()
            try await withRedisClient(c) { client async throws in
                // BLPOP without telling the client it blocks: the reply cannot come in time.
                let error = await RedisError.caught { _ = try await client.send(RedisCommand<RESPValue>(["BLPOP", RedisArgument(k), "5"])) }
                #expect(error?.code == .timeout)
                // The pool replaces the closed connection.
                #expect(try await client.ping() == "PONG")
            }
        }

        @Test func refusedConnectionIsTyped() async throws {
            var c = try TestRedis.configuration()
            c.port = 1
            c.pool.minimumConnections = 0
            try await withRedisClient(c) { client async throws in
                let error = await RedisError.caught { _ = try await client.ping() }
                #expect(error?.code == .connectFailed)
            }
        }

        @Test func poolTimeoutWhenEveryConnectionIsLeased() async throws {
            var c = try TestRedis.configuration()
            c.pool.maximumConnections = 1
            c.pool.acquireTimeout = .milliseconds(100)
            try await withRedisClient(c) { client async throws in
                // Wait for the one connection, so the 100 ms limit measures only the lease.
                for await change in client.stateChanges() where change.state == .connected { break }
                try await client.withConnection { _ in
                    let error = await RedisError.caught { _ = try await client.ping() }
                    #expect(error?.code == .poolTimeout)
                }
                #expect(try await client.ping() == "PONG")
            }
        }

        @Test func poolReconnectsAfterItsConnectionIsKilled() async throws {
            var c = try TestRedis.configuration()
            c.pool.minimumConnections = 1
            c.pool.maximumConnections = 1
            try await withRedisClient(c) { client async throws in
                var states = client.stateChanges().makeAsyncIterator()
                var first = await states.next()?.state
                if first == .connecting { first = await states.next()?.state }
                #expect(first == .connected)
                let id = try await client.send(.clientID())
                try await withRedisConnection(try TestRedis.configuration()) { killer async throws in
                    #expect(try await killer.send(.clientKill(id: id)) == 1)
                }
                var seen: [RedisConnectionState] = []
                while let change = await states.next() {
                    seen.append(change.state)
                    if change.state == .connected { break }
                }
                #expect(seen.first == .disconnected)
                #expect(seen.contains(.reconnecting))
                #expect(client.state == .connected)
                #expect(try await client.send(.clientID()) != id)
            }
        }

        @Test func droppedConnectionFailsInFlightRequestsWithConnectionClosed() async throws {
            let k = TestRedis.key()
            try await withRedisConnection(try TestRedis.configuration()) { connection async throws in
                let id = try await connection.send(.clientID())
                async let blocked = RedisError.caught {
                    _ = try await connection.send(RedisCommand<RESPValue>(["BLPOP", RedisArgument(k), "0"], blocking: .zero))
                }
                try await withRedisConnection(try TestRedis.configuration()) { killer async throws in
                    // Wait until the BLPOP is really blocked, then kill it.
                    while !(try await killer.send(RedisCommand<String>(["CLIENT", "LIST", "ID", RedisArgument(id)]))).contains("cmd=blpop") {
                        await Task.yield()
                    }
                    _ = try await killer.send(.clientKill(id: id))
                }
                #expect(await blocked?.code == .connectionClosed)
                #expect(!connection.isActive)
            }
        }

        @Test func commandOnAClosedConnectionFailsInsteadOfWaiting() async throws {
            let connection = try await RedisConnection.connect(
                configuration: try TestRedis.configuration(),
                eventLoop: RedisClientTestsEventLoop.loop
            )
            await connection.close()
            // Closing removed the channel's handlers: a request written through the channel
            // pipeline now would be dropped with its caller waiting for ever.
            try await connection.closeFuture.get()
            let error = await RedisError.caught { _ = try await connection.ping() }
            #expect(error?.code == .connectionClosed)
            let pipelined = await RedisError.caught { _ = try await connection.pipeline([RedisCommand<String?>.get("k"), .get("l")]) }
            #expect(pipelined?.code == .connectionClosed)
        }

        @Test func shutdownFailsNewRequests() async throws {
            let client = RedisClient(configuration: try TestRedis.configuration())
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                _ = try? await client.ping()
                group.cancelAll()
            }
            let error = await RedisError.caught { _ = try await client.ping() }
            #expect(error?.code == .clientShutdown)
            #expect(client.state == .shutdown)
        }
    }

    /// TLS (good and bad CA), AUTH, and the RESP2 fallback on a server without HELLO.
    @Suite struct RedisSecurityIntegrationTests {
        @Test(.enabled(if: TestRedis.tlsAvailable, "needs TEST_REDIS_TLS_URL"), arguments: RedisIntegration.RedisCommandsIntegrationTests.protocols)
        func tlsWithTheRightCA(_ version: RedisConfiguration.ProtocolVersion) async throws {
            var c = try TestRedis.configuration("TEST_REDIS_TLS_URL", caFile: try TestRedis.required("TEST_REDIS_TLS_CA"))
            c.protocolVersion = version
            #expect(c.tls != nil)
            #expect(c.maskedDescription.hasPrefix("rediss://:****@127.0.0.1:"))
            let k = TestRedis.key()
            try await withRedisClient(c) { client async throws in
                #expect(try await client.ping() == "PONG")
                try await client.set(k, to: "secure")
                #expect(try await client.get(k) == "secure")
                let subscription = try await client.subscribe(to: k)
                #expect(try await client.publish("tls", to: k) == 1)
                var it = subscription.makeAsyncIterator()
                #expect(try await it.next()?.string == "tls")
                try await client.del(k)
            }
        }

        @Test(.enabled(if: TestRedis.tlsAvailable, "needs TEST_REDIS_TLS_URL"))
        func tlsWithAnUnrelatedCAFailsVerification() async throws {
            let c = try TestRedis.configuration("TEST_REDIS_TLS_URL", caFile: try TestRedis.required("TEST_REDIS_TLS_BAD_CA"))
            let error = await RedisError.caught { _ = try await withRedisConnection(c) { try await $0.ping() } }
            #expect(error?.code == .tls)
            #expect(error?.message.contains("TLS") == true)
        }

        @Test(.enabled(if: TestRedis.tlsAvailable, "needs TEST_REDIS_TLS_URL"))
        func tlsWithoutTheCAFailsAgainstSystemRoots() async throws {
            let c = try TestRedis.configuration("TEST_REDIS_TLS_URL")
            let error = await RedisError.caught { _ = try await withRedisConnection(c) { try await $0.ping() } }
            #expect(error?.code == .tls)
        }

        @Test(.enabled(if: TestRedis.tlsAvailable, "needs TEST_REDIS_TLS_URL"), arguments: RedisIntegration.RedisCommandsIntegrationTests.protocols)
        func wrongPasswordIsAnAuthenticationError(_ version: RedisConfiguration.ProtocolVersion) async throws {
            var c = try TestRedis.configuration("TEST_REDIS_TLS_URL", caFile: try TestRedis.required("TEST_REDIS_TLS_CA"))
            c.password = "wrong"
            c.protocolVersion = version
            let error = await RedisError.caught { _ = try await withRedisConnection(c) { try await $0.ping() } }
            #expect(error?.code == .authenticationFailed)
            c.password = nil
            let missing = await RedisError.caught { _ = try await withRedisConnection(c) { try await $0.ping() } }
            #expect(missing?.code == .authenticationFailed || missing?.serverPrefix == "NOAUTH")
            // Through the client, the waiting command gets the same typed error.
            c.password = "wrong"
            try await withRedisClient(c) { client async throws in
                let viaClient = await RedisError.caught { _ = try await client.ping() }
                #expect(viaClient?.code == .authenticationFailed)
            }
        }

        @Test(.enabled(if: TestRedis.legacyAvailable, "needs TEST_REDIS_LEGACY_URL"))
        func fallsBackToRESP2WhenHelloIsUnknown() async throws {
            let c = try TestRedis.configuration("TEST_REDIS_LEGACY_URL")
            #expect(c.protocolVersion == .automatic)
            let version = try await withRedisConnection(c) { connection async throws in
                #expect(try await connection.ping() == "PONG")
                return connection.protocolVersion
            }
            #expect(version == .resp2)
            var strict = c
            strict.protocolVersion = .resp3
            let error = await RedisError.caught { _ = try await withRedisConnection(strict) { try await $0.ping() } }
            #expect(error?.code == .server)
            var wrong = c
            wrong.password = "nope"
            let auth = await RedisError.caught { _ = try await withRedisConnection(wrong) { try await $0.ping() } }
            #expect(auth?.code == .authenticationFailed)
        }

        @Test(.enabled(if: TestRedis.legacyAvailable, "needs TEST_REDIS_LEGACY_USER_URL"))
        func authenticatesAsAnACLUser() async throws {
            var c = try TestRedis.configuration("TEST_REDIS_LEGACY_USER_URL")
            c.clientName = "alice-client"
            try await withRedisClient(c) { client async throws in
                #expect(try await client.send(RedisCommand<String>(["ACL", "WHOAMI"])) == "alice")
                #expect(try await client.send(.clientGetName()) == "alice-client")
            }
        }
    }
}
