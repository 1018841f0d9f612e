import Foundation
import SwitchboardCore
import TestSupport
import Testing

@testable import SwitchboardRedis

/// Presence and viewers shared by the nodes, with the same rules as one process's
/// (``PresenceState``), and a dead node's agents going offline.
@Suite("Presence across nodes", .serialized, .enabled(if: TestRedisBackend.available, "needs TEST_REDIS_URL"), .timeLimit(.minutes(1)))
struct RedisPresenceTests {
    typealias User = PresenceState.UserPresence

    /// Two nodes' presence stores on one manual clock, both registered.
    static func withNodes(_ body: @Sendable (RedisPresence, RedisPresence, ManualWallClock) async throws -> Void) async throws {
        try await TestRedisBackend.with(nodes: ["node-a", "node-b"]) { backends in
            let clock = ManualWallClock()
            let presences = backends.map {
                RedisPresence(
                    backend: $0,
                    registry: RedisNodeRegistry(backend: $0, heartbeat: .seconds(5), clock: clock),
                    logger: TestDatabase.logger
                )
            }
            for presence in presences {
                try await presence.registry.beat()
                await presence.upkeep()
            }
            try await body(presences[0], presences[1], clock)
        }
    }

    @Test("a user is online while they have a socket on any node, and offline with the last")
    func onlineAcrossNodes() async throws {
        try await Self.withNodes { a, b, _ in
            #expect(await a.connect(socketId: "a1", userId: "u1", name: "Ann") == User(userId: "u1", name: "Ann", status: .online))
            #expect(await b.snapshot() == [User(userId: "u1", name: "Ann", status: .online)])
            #expect(await b.connect(socketId: "b1", userId: "u1", name: "Ann") == nil, "already online")
            #expect(await a.disconnect(socketId: "a1").presence == nil, "still on node b")
            #expect(await b.disconnect(socketId: "b1").presence == User(userId: "u1", name: "Ann", status: .offline))
            #expect(await a.snapshot().isEmpty)
        }
    }

    @Test("a chosen status holds on every node and is forgotten with the last socket")
    func chosenStatus() async throws {
        try await Self.withNodes { a, b, _ in
            _ = await a.connect(socketId: "a1", userId: "u1", name: "Ann")
            _ = await b.connect(socketId: "b1", userId: "u1", name: "Ann")
            #expect(await b.set(.away, socketId: "b1") == User(userId: "u1", name: "Ann", status: .away))
            #expect(await a.snapshot() == [User(userId: "u1", name: "Ann", status: .away)])
            #expect(await a.set(.offline, socketId: "a1") == User(userId: "u1", name: "Ann", status: .offline))
            #expect(await b.snapshot().isEmpty, "appearing offline hides them")
            _ = await a.disconnect(socketId: "a1")
            _ = await b.disconnect(socketId: "b1")
            #expect(await a.connect(socketId: "a2", userId: "u1", name: "Ann") == User(userId: "u1", name: "Ann", status: .online))
        }
    }

    @Test("viewers are the users viewing on any node, each once")
    func viewersAcrossNodes() async throws {
        try await Self.withNodes { a, b, _ in
            _ = await a.connect(socketId: "a1", userId: "u1", name: "Ann")
            _ = await b.connect(socketId: "b1", userId: "u2", name: "Bob")
            _ = await b.connect(socketId: "b2", userId: "u1", name: "Ann")
            let ann = PresenceState.Viewer(userId: "u1", name: "Ann")
            let bob = PresenceState.Viewer(userId: "u2", name: "Bob")
            #expect(await a.startViewing(socketId: "a1", conversationId: "7")?.viewers == [ann])
            #expect(await b.startViewing(socketId: "b1", conversationId: "7")?.viewers == [ann, bob])
            #expect(await b.startViewing(socketId: "b2", conversationId: "7") == nil, "Ann views it already")
            #expect(await b.viewers(of: "7") == [ann, bob])
            #expect(await a.stopViewing(socketId: "a1", conversationId: "7") == nil, "Ann still views it on node b")
            let gone = await b.disconnect(socketId: "b2")
            #expect(gone.viewers == [PresenceState.ViewersChange(conversationId: "7", viewers: [bob])])
            #expect(gone.presence == nil, "Ann is still connected on node a")
        }
    }

    @Test("a node that stops its heartbeat takes its users offline, and they come back with it")
    func deadNodeIsReaped() async throws {
        try await Self.withNodes { a, b, clock in
            _ = await a.connect(socketId: "a1", userId: "u1", name: "Ann")
            _ = await a.startViewing(socketId: "a1", conversationId: "7")
            _ = await b.connect(socketId: "b1", userId: "u2", name: "Bob")
            let changes = b.remoteChanges()
            // Node a goes silent for longer than three heartbeats; node b keeps beating.
            clock.advance(by: 16)
            try await b.registry.beat()
            await b.upkeep()
            var iterator = changes.makeAsyncIterator()
            let first = await iterator.next()
            let second = await iterator.next()
            #expect(first == .user(User(userId: "u1", name: "Ann", status: .offline)))
            #expect(second == .viewers(PresenceState.ViewersChange(conversationId: "7", viewers: [])))
            #expect(await b.snapshot() == [User(userId: "u2", name: "Bob", status: .online)])

            // Node a was only slow: at its next upkeep it writes its share again.
            let back = a.remoteChanges()
            await a.upkeep()
            var again = back.makeAsyncIterator()
            #expect(await again.next() == .user(User(userId: "u1", name: "Ann", status: .online)))
            #expect(await b.viewers(of: "7") == [PresenceState.Viewer(userId: "u1", name: "Ann")])
        }
    }

    @Test("without Redis a node answers for its own sockets")
    func unreachableRedis() async throws {
        try await TestRedisBackend.with(url: TestRedisBackend.unreachableURL(), waitForConnection: false) { backends in
            let presence = RedisPresence(
                backend: backends[0],
                registry: RedisNodeRegistry(backend: backends[0], heartbeat: .seconds(5)),
                logger: TestDatabase.logger
            )
            #expect(await presence.connect(socketId: "s", userId: "u", name: "Uma") == User(userId: "u", name: "Uma", status: .online))
            #expect(await presence.startViewing(socketId: "s", conversationId: "1")?.viewers == [PresenceState.Viewer(userId: "u", name: "Uma")])
            #expect(await presence.snapshot() == [User(userId: "u", name: "Uma", status: .online)])
        }
    }
}
