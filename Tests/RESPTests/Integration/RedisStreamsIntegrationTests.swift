import Testing

@testable import RESP

extension RedisIntegration {

    /// The Streams commands a job queue needs, against a real redis-server.
    @Suite(.enabled(if: TestRedis.plainAvailable, "needs TEST_REDIS_URL"))
    struct RedisStreamsIntegrationTests {
        @Test(arguments: RedisIntegration.RedisCommandsIntegrationTests.protocols)
        func consumerGroupLifecycle(_ version: RedisConfiguration.ProtocolVersion) async throws {
            var c = try TestRedis.configuration()
            c.protocolVersion = version
            let stream = TestRedis.key()
            let s = RedisArgument(stream)
            try await withRedisClient(c) { client async throws in
                // XGROUP CREATE … MKSTREAM, then BUSYGROUP as a distinct error.
                try await client.send(.xgroupCreate(s, group: "workers", startID: "0"))
                let busy = await RedisError.caught { try await client.send(.xgroupCreate(s, group: "workers")) }
                #expect(busy?.isBusyGroup == true)
                #expect(busy?.code == .server)
                #expect(try await client.createGroupIfNeeded(stream: stream, group: "workers") == false)
                #expect(try await client.send(.xlen(s)) == 0)

                var ids: [String] = []
                for i in 0..<5 {
                    ids.append(
                        try await client.send(
                            .xadd(
                                s,
                                trim: .approximateMaxLength(1000),
                                fields: [(RedisArgument("n"), RedisArgument(i)), (RedisArgument("kind"), RedisArgument("job"))]
                            )
                        )
                    )
                }
                #expect(try await client.send(.xlen(s)) == 5)

                let read = try await client.send(.xreadgroup(group: "workers", consumer: "alice", streams: [(s, RedisArgument(">"))], count: 3))
                #expect(read.count == 1)
                #expect(read[0].stream == stream)
                #expect(read[0].entries.map(\.id) == Array(ids.prefix(3)))
                #expect(read[0].entries.map { $0["n"] } == ["0", "1", "2"])
                #expect(read[0].entries[0].fields == [RedisStreamField(name: "n", value: "0"), RedisStreamField(name: "kind", value: "job")])

                let summary = try await client.send(.xpending(s, group: "workers"))
                #expect(summary.count == 3)
                #expect(summary.smallestID == ids[0])
                #expect(summary.greatestID == ids[2])
                #expect(summary.consumers == ["alice": 3])

                let pending = try await client.send(.xpending(s, group: "workers", count: 10))
                #expect(pending.map(\.id) == Array(ids.prefix(3)))
                #expect(pending.allSatisfy { $0.consumer == "alice" && $0.deliveryCount == 1 })

                #expect(try await client.send(.xack(s, group: "workers", ids: [RedisArgument(ids[0])])) == 1)

                // Claim alice's remaining two for bob.
                let claimed = try await client.send(.xautoclaim(s, group: "workers", consumer: "bob", minIdle: .zero, count: 10))
                #expect(claimed.entries.map(\.id) == [ids[1], ids[2]])
                #expect(claimed.nextStart == "0-0")
                #expect(claimed.deletedIDs.isEmpty)
                let afterClaim = try await client.send(.xpending(s, group: "workers", count: 10, consumer: "bob"))
                #expect(afterClaim.map(\.deliveryCount) == [2, 2])

                // XCLAIM … JUSTID moves an entry without counting a delivery.
                let moved = try await client.send(
                    .xclaimJustID(s, group: "workers", consumer: "dave", minIdle: .zero, ids: [RedisArgument(ids[1])])
                )
                #expect(moved == [ids[1]])
                #expect(try await client.send(.xpending(s, group: "workers", count: 10, consumer: "dave")).map(\.deliveryCount) == [2])

                // A deleted-but-pending entry is reported by XAUTOCLAIM.
                _ = try await client.send(.xdel(s, ids: [RedisArgument(ids[2])]))
                let reclaimed = try await client.send(.xautoclaim(s, group: "workers", consumer: "carol", minIdle: .zero))
                #expect(reclaimed.entries.map(\.id) == [ids[1]])
                #expect(reclaimed.deletedIDs == [ids[2]])

                let groups = try await client.send(.xinfoGroups(s))
                #expect(groups.map(\.name) == ["workers"])
                #expect(groups[0].pending == 1)
                #expect(groups[0].lastDeliveredID == ids[2])

                #expect(try await client.send(.xrange(s)).count == 4)
                #expect(try await client.send(.xrevrange(s, count: 2)).map(\.id) == [ids[4], ids[3]])
                #expect(try await client.send(.xtrim(s, .exactMaxLength(2))) == 2)
                #expect(try await client.send(.xlen(s)) == 2)
                #expect(try await client.send(.xgroupDestroy(s, group: "workers")))
                try await client.del(stream)
            }
        }

        @Test func approximateTrimKeepsAtLeastTheLimit() async throws {
            let stream = TestRedis.key()
            try await withRedisClient(try TestRedis.configuration()) { client async throws in
                let adds = (0..<300).map { i in
                    RedisCommand<String>.xadd(
                        RedisArgument(stream),
                        trim: .approximateMaxLength(100),
                        fields: [(RedisArgument("i"), RedisArgument(i))]
                    )
                }
                _ = try await client.pipeline(adds)
                let length = try await client.send(.xlen(RedisArgument(stream)))
                #expect(length >= 100 && length < 300)
                try await client.del(stream)
            }
        }

        /// XREADGROUP BLOCK holds one pooled connection; other commands keep flowing.
        @Test func blockingReadDoesNotBlockOtherCommands() async throws {
            let stream = TestRedis.key()
            let s = RedisArgument(stream)
            try await withRedisClient(try TestRedis.configuration()) { client async throws in
                try await client.send(.xgroupCreate(s, group: "g"))
                try await withThrowingTaskGroup(of: [RedisStreamRead].self) { group in
                    group.addTask {
                        try await client.send(.xreadgroup(group: "g", consumer: "c", streams: [(s, RedisArgument(">"))], block: .seconds(30)))
                    }
                    // Wait until the reader is really blocked on the server.
                    while !(try await client.send(RedisCommand<String>(["CLIENT", "LIST"]))).split(separator: "\n").contains(where: {
                        $0.contains("flags=b ") && $0.contains("cmd=xreadgroup")
                    }) {
                        await Task.yield()
                    }
                    let clock = ContinuousClock()
                    let start = clock.now
                    for _ in 0..<20 {
                        let pong = try await client.ping()
                        #expect(pong == "PONG")
                    }
                    let elapsed = clock.now - start
                    #expect(elapsed < .seconds(5))
                    let id = try await client.send(.xadd(s, fields: [("wake", "up")]))
                    let read = try #require(try await group.next())
                    #expect(read.first?.entries.map(\.id) == [id])
                }
                // BLOCK that times out yields no entries.
                let none = try await client.send(.xreadgroup(group: "g", consumer: "c", streams: [(s, RedisArgument(">"))], block: .milliseconds(50)))
                #expect(none.isEmpty)
                try await client.del(stream)
            }
        }
    }
}
