import Foundation
import SocketIO
import SwitchboardCore
import Synchronization
import TestSupport
import Testing

@testable import SwitchboardRedis

/// What a node's adapter handed to its sockets, awaitable.
final class NodeDeliveries: Sendable {
    private let log = Mutex<[(SocketIOPacket, Set<String>)]>([])
    private let arrived = WorkSignal()

    func record(_ packet: SocketIOPacket, _ ids: [String]) {
        log.withLock { $0.append((packet, Set(ids))) }
        arrived.notify()
    }

    var all: [(SocketIOPacket, Set<String>)] { log.withLock { $0 } }

    /// Waits until `count` deliveries arrived (the suite's time limit bounds it).
    func wait(for count: Int) async -> [(SocketIOPacket, Set<String>)] {
        while all.count < count { await arrived.wait(timeout: .seconds(1)) }
        return all
    }
}

/// Several nodes in one process: each a cluster with the adapter of `/`, all sharing one
/// Redis prefix, running until the body returns.
struct ClusterNodes {
    let clusters: [RedisSocketIOCluster]
    let adapters: [any SocketIOAdapter]
    let deliveries: [NodeDeliveries]
    let backends: [RedisBackend]

    static func with(
        _ count: Int = 2,
        recovery: SocketIOConfiguration.ConnectionStateRecovery? = .init(),
        _ body: @Sendable (ClusterNodes) async throws -> Void
    ) async throws {
        try await TestRedisBackend.with(nodes: (0..<count).map { "node-\($0)" }) { backends in
            let clusters = backends.map {
                RedisSocketIOCluster(
                    backend: $0,
                    registry: RedisNodeRegistry(backend: $0, heartbeat: .seconds(1)),
                    requestTimeout: .seconds(5),
                    logger: TestDatabase.logger
                )
            }
            let deliveries = clusters.map { _ in NodeDeliveries() }
            let adapters = zip(clusters, deliveries).map { cluster, log in
                cluster.adapterFactory(SocketIOAdapterContext(namespace: "/", recovery: recovery) { log.record($0, $1) })
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for cluster in clusters { group.addTask { await cluster.run() } }
                defer { group.cancelAll() }
                // Every node is registered, listening and reading before the test emits.
                for cluster in clusters {
                    try await cluster.registry.beat()
                    await cluster.waitUntilListening()
                }
                let nodes = ClusterNodes(clusters: clusters, adapters: adapters, deliveries: deliveries, backends: backends)
                try await nodes.waitUntilReading()
                try await body(nodes)
            }
        }
    }

    /// A probe broadcast every node delivers proves every reader is running.
    func waitUntilReading() async throws {
        for (index, adapter) in adapters.enumerated() { adapter.addAll("probe-\(index)", to: ["probe-\(index)", "probe"]) }
        adapters[0].broadcast(SocketIOBroadcast(packet: .event("probe", []), options: .init(rooms: ["probe"], volatile: true)))
        for log in deliveries { _ = await log.wait(for: 1) }
        for (index, adapter) in adapters.enumerated() { adapter.deleteAll("probe-\(index)") }
    }
}

@Suite("Socket.IO across nodes", .serialized, .enabled(if: TestRedisBackend.available, "needs TEST_REDIS_URL"), .timeLimit(.minutes(1)))
struct RedisSocketIOClusterTests {
    @Test("an event emitted on any node reaches the targeted sockets of every node, once, in order")
    func broadcastReachesEveryNodeOnce() async throws {
        try await ClusterNodes.with(3) { nodes in
            nodes.adapters[0].addAll("a", to: ["a", "room"])
            nodes.adapters[1].addAll("b", to: ["b", "room"])
            nodes.adapters[1].addAll("b2", to: ["b2", "elsewhere"])
            nodes.adapters[2].addAll("c", to: ["c", "room", "muted"])
            for n in 0..<5 {
                nodes.adapters[0].broadcast(
                    SocketIOBroadcast(packet: .event("n", [.int(Int64(n))]), options: .init(rooms: ["room"], except: ["muted"]))
                )
                nodes.adapters[1].broadcast(
                    SocketIOBroadcast(packet: .event("m", [.int(Int64(n))]), options: .init(rooms: ["room"], except: ["muted"]))
                )
            }
            nodes.adapters[2].broadcast(SocketIOBroadcast(packet: .event("last", []), options: .init(rooms: ["room"])))
            let onA = await nodes.deliveries[0].wait(for: 1 + 11)
            let onB = await nodes.deliveries[1].wait(for: 1 + 11)
            let onC = await nodes.deliveries[2].wait(for: 1 + 1)
            #expect(onA.dropFirst().map(\.1) == Array(repeating: ["a"], count: 11))
            #expect(onB.dropFirst().map(\.1) == Array(repeating: ["b"], count: 11))
            #expect(onC.dropFirst().map(\.1) == [["c"]], "c is muted for all but the last")
            // The same order on every node; each node's events in the order it emitted them;
            // each event with its stream offset appended.
            let order = onA.dropFirst().map { "\($0.0.eventName ?? "")\($0.0.arguments.first ?? .null)" }
            #expect(order == onB.dropFirst().map { "\($0.0.eventName ?? "")\($0.0.arguments.first ?? .null)" })
            for name in ["n", "m"] {
                let arguments = onA.filter { $0.0.eventName == name }.map { $0.0.arguments.first }
                #expect(arguments == (0..<5).map { SocketIOValue.int(Int64($0)) })
            }
            let offsets = onA.dropFirst().compactMap { $0.0.arguments.last?.stringValue }
            #expect(offsets.count == 11 && offsets.allSatisfy(RedisSocketIOCluster.isStreamID))
        }
    }

    @Test("a local broadcast stays on its node")
    func localStaysLocal() async throws {
        try await ClusterNodes.with { nodes in
            nodes.adapters[0].addAll("a", to: ["a", "room"])
            nodes.adapters[1].addAll("b", to: ["b", "room"])
            nodes.adapters[0].broadcast(SocketIOBroadcast(packet: .event("mine", []), options: .init(rooms: ["room"], local: true)))
            nodes.adapters[0].broadcast(SocketIOBroadcast(packet: .event("ours", []), options: .init(rooms: ["room"])))
            let onA = await nodes.deliveries[0].wait(for: 3)
            let onB = await nodes.deliveries[1].wait(for: 2)
            #expect(onA.dropFirst().map { $0.0.eventName } == ["mine", "ours"])
            #expect(onB.dropFirst().map { $0.0.eventName } == ["ours"], "the local one never left node 0")
        }
    }

    @Test("a client that comes back on another node gets what it missed")
    func recoveryOnAnotherNode() async throws {
        try await ClusterNodes.with { nodes in
            nodes.adapters[0].addAll("s1", to: ["s1", "conversation:7"])
            nodes.adapters[1].addAll("watch", to: ["watch"])
            nodes.adapters[1].broadcast(SocketIOBroadcast(packet: .event("n", [0]), options: .init(rooms: ["conversation:7"])))
            let first = await nodes.deliveries[0].wait(for: 2)
            let offset = try #require(first.last?.0.arguments.last?.stringValue)
            // The transport drops: node 0 keeps the session; events go on meanwhile.
            nodes.adapters[0].persistSession(SocketIOSessionSnapshot(sid: "s1", pid: "p1", rooms: ["s1", "conversation:7"], data: ["user": "u1"]))
            nodes.adapters[0].deleteAll("s1")
            for n in 1...3 {
                nodes.adapters[1].broadcast(SocketIOBroadcast(packet: .event("n", [.int(Int64(n))]), options: .init(rooms: ["conversation:7"])))
            }
            nodes.adapters[1].broadcast(SocketIOBroadcast(packet: .event("other", []), options: .init(rooms: ["conversation:8"])))
            nodes.adapters[1].broadcast(SocketIOBroadcast(packet: .event("typing", []), options: .init(rooms: ["conversation:7"], volatile: true)))
            // Each node's writer appends in order: once both markers arrived, every
            // earlier broadcast is in the stream.
            for adapter in nodes.adapters {
                adapter.broadcast(SocketIOBroadcast(packet: .event("done", []), options: .init(rooms: ["watch"])))
            }
            _ = await nodes.deliveries[1].wait(for: 1 + 2)

            // It comes back on node 1.
            let restored = try #require(try await nodes.adapters[1].restoreSession(pid: "p1", offset: offset))
            #expect(restored.snapshot.sid == "s1" && restored.snapshot.data == ["user": "u1"])
            #expect(restored.missedPackets.map { $0[1] } == [1, 2, 3], "its room's recoverable events, in order")
            #expect(try await nodes.adapters[0].restoreSession(pid: "p1", offset: offset) == nil, "a session is restored once")
            #expect(try await nodes.adapters[1].restoreSession(pid: "nope", offset: offset) == nil)
        }
    }

    @Test("which sockets and rooms exist is answered across nodes")
    func socketsAndRoomsAcrossNodes() async throws {
        try await ClusterNodes.with { nodes async throws in
            nodes.adapters[0].addAll("a", to: ["a", "agents"])
            nodes.adapters[1].addAll("b", to: ["b", "agents", "page:1"])
            #expect(try await nodes.adapters[0].socketIDs(matching: .init(rooms: ["agents"])) == ["a", "b"])
            #expect(try await nodes.adapters[1].socketIDs(matching: .init(rooms: ["agents"], except: ["page:1"])) == ["a"])
            #expect(try await nodes.adapters[0].allRooms() == ["a", "b", "agents", "page:1"])
        }
    }

    @Test("a command reaches every node")
    func commandsReachEveryNode() async throws {
        try await ClusterNodes.with { nodes in
            let seen = NodeDeliveries()
            for (index, cluster) in nodes.clusters.enumerated() {
                cluster.onCommand { name, argument in seen.record(.event(name, [.string(argument)]), ["\(index)"]) }
            }
            #expect(await nodes.clusters[1].publishCommand("disconnect-room", "user:9"))
            let got = await seen.wait(for: 2)
            #expect(Set(got.flatMap(\.1)) == ["0", "1"])
            #expect(got.allSatisfy { $0.0.eventName == "disconnect-room" && $0.0.arguments.first == "user:9" })
        }
    }

    @Test("without Redis a node's broadcasts still reach its own sockets")
    func unreachableRedisDeliversLocally() async throws {
        try await TestRedisBackend.with(url: TestRedisBackend.unreachableURL(), waitForConnection: false) { backends in
            let cluster = RedisSocketIOCluster(
                backend: backends[0],
                registry: RedisNodeRegistry(backend: backends[0], heartbeat: .seconds(1)),
                logger: TestDatabase.logger
            )
            let log = NodeDeliveries()
            let adapter = cluster.adapterFactory(SocketIOAdapterContext(namespace: "/", recovery: .init()) { log.record($0, $1) })
            adapter.addAll("a", to: ["a", "room"])
            adapter.broadcast(SocketIOBroadcast(packet: .event("hi", []), options: .init(rooms: ["room"])))
            let got = await log.wait(for: 1)
            #expect(got.map(\.1) == [["a"]])
            let offset = try #require(got.first?.0.arguments.last?.stringValue)
            #expect(!RedisSocketIOCluster.isStreamID(offset), "an offset of this node's own memory")
            #expect(try await adapter.socketIDs(matching: .init(rooms: ["room"])) == ["a"])
        }
    }
}
