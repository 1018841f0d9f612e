import Foundation
import SwitchboardCore
import TestSupport
import Testing

@testable import SwitchboardRedis

/// Every Page's send rate shared among the live sending processes (``RedisSendShare``).
@Suite("Send rate shared across workers", .serialized, .enabled(if: TestRedisBackend.available, "needs TEST_REDIS_URL"), .timeLimit(.minutes(1)))
struct RedisSendShareTests {
    @Test("each of N live senders takes 1/N; one that leaves or falls silent gives its share back")
    func shareFollowsTheLiveSenders() async throws {
        try await TestRedisBackend.with(nodes: ["worker-a", "worker-b", "web-c"]) { backends in
            let clock = ManualWallClock()
            let shares = backends.prefix(2).map {
                RedisSendShare(backend: $0, heartbeat: .seconds(5), clock: clock, logger: TestDatabase.logger) { _ in }
            }
            let (a, b) = (shares[0], shares[1])
            #expect(try await a.refresh() == 1)
            #expect(try await b.refresh() == 0.5)
            #expect(try await a.refresh() == 0.5)
            // A node that does not send (web-c beats into the realtime set) is not counted.
            try await RedisNodeRegistry(backend: backends[2], heartbeat: .seconds(5), clock: clock).beat()
            #expect(try await a.refresh() == 0.5)
            try await b.leave()
            #expect(try await a.refresh() == 1)
            // b again, then silent for three heartbeats: dead, its share back to a.
            #expect(try await b.refresh() == 0.5)
            clock.advance(by: 16)
            #expect(try await a.refresh() == 1)
        }
    }
}
