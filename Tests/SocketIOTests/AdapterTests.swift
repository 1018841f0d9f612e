import SocketIO
import Synchronization
import Testing

final class Deliveries: Sendable {
    let log = Mutex<[(SocketIOPacket, Set<String>)]>([])
    var all: [(SocketIOPacket, Set<String>)] { log.withLock { $0 } }
}

func makeAdapter(recovery: SocketIOConfiguration.ConnectionStateRecovery? = nil) -> (SocketIOInMemoryAdapter, Deliveries) {
    let deliveries = Deliveries()
    let context = SocketIOAdapterContext(namespace: "/", recovery: recovery) { packet, ids in
        deliveries.log.withLock { $0.append((packet, Set(ids))) }
    }
    return (SocketIOInMemoryAdapter(context: context), deliveries)
}

@Suite struct AdapterTests {
    @Test func roomsAndTargeting() async throws {
        let (adapter, _) = makeAdapter()
        adapter.addAll("a", to: ["a", "r1", "r2"])
        adapter.addAll("b", to: ["b", "r1"])
        adapter.addAll("c", to: ["c"])
        #expect(adapter.rooms(of: "a") == ["a", "r1", "r2"])
        #expect(adapter.localSocketIDs(matching: .init()) == ["a", "b", "c"])
        #expect(adapter.localSocketIDs(matching: .init(rooms: ["r1"])) == ["a", "b"])
        #expect(adapter.localSocketIDs(matching: .init(rooms: ["r1", "c"], except: ["r2"])) == ["b", "c"])
        #expect(adapter.localSocketIDs(matching: .init(except: ["a"])) == ["b", "c"])
        adapter.delete("a", from: "r1")
        #expect(adapter.localSocketIDs(matching: .init(rooms: ["r1"])) == ["b"])
        adapter.deleteAll("b")
        #expect(try await adapter.allRooms() == ["a", "r2", "c"])
    }

    @Test func broadcastDeliversOnceToTargets() {
        let (adapter, deliveries) = makeAdapter()
        adapter.addAll("a", to: ["a", "room"])
        adapter.addAll("b", to: ["b", "room"])
        adapter.broadcast(SocketIOBroadcast(packet: .event("x", []), options: .init(rooms: ["room"], except: ["a"])))
        #expect(deliveries.all.count == 1)
        #expect(deliveries.all[0].1 == ["b"])
        #expect(deliveries.all[0].0 == .event("x", []))  // no offset without recovery
    }

    @Test func recoveryReplaysMissedPacketsInOrder() async throws {
        let (adapter, deliveries) = makeAdapter(recovery: .init())
        adapter.addAll("s1", to: ["s1", "room"])
        adapter.broadcast(SocketIOBroadcast(packet: .event("n", [0]), options: .init(rooms: ["room"])))
        let firstOffset = try #require(deliveries.all[0].0.arguments.last?.stringValue)
        adapter.persistSession(SocketIOSessionSnapshot(sid: "s1", pid: "p1", rooms: ["s1", "room"], data: ["user": 1]))
        adapter.deleteAll("s1")
        for index in 1...3 { adapter.broadcast(SocketIOBroadcast(packet: .event("n", [.int(Int64(index))]), options: .init(rooms: ["room"]))) }
        adapter.broadcast(SocketIOBroadcast(packet: .event("other", []), options: .init(rooms: ["elsewhere"])))
        adapter.broadcast(SocketIOBroadcast(packet: .event("v", []), options: .init(rooms: ["room"], volatile: true)))
        adapter.broadcast(SocketIOBroadcast(packet: .event("skip", []), options: .init(except: ["s1"])))
        let restored = try #require(try await adapter.restoreSession(pid: "p1", offset: firstOffset))
        #expect(restored.snapshot.sid == "s1" && restored.snapshot.data == ["user": 1])
        #expect(restored.missedPackets.map { $0[1] } == [1, 2, 3])
        #expect(restored.missedPackets.allSatisfy { $0[2]?.stringValue != nil })
        // A session is restored once; unknown pids and offsets give nothing.
        #expect(try await adapter.restoreSession(pid: "p1", offset: firstOffset) == nil)
        #expect(try await adapter.restoreSession(pid: "nope", offset: firstOffset) == nil)
    }

    @Test func recoveryExpires() async throws {
        let (adapter, deliveries) = makeAdapter(recovery: .init(maxDisconnectionDuration: .zero))
        adapter.addAll("s", to: ["s"])
        adapter.broadcast(SocketIOBroadcast(packet: .event("n", []), options: .init()))
        let offset = try #require(deliveries.all[0].0.arguments.last?.stringValue)
        adapter.persistSession(SocketIOSessionSnapshot(sid: "s", pid: "p", rooms: ["s"], data: .null))
        // An expiry of zero: the time elapsed since persisting already exceeds it.
        #expect(try await adapter.restoreSession(pid: "p", offset: offset) == nil)
    }
}
