import NIOCore
import Synchronization

/// The default adapter: rooms, broadcasts and recovery state in this process.
///
/// Recovery offsets are `<epoch>-<n>`: the epoch is random per adapter, so an offset from a
/// previous process never matches. Stored packets and sessions expire after
/// `maxDisconnectionDuration`; at most `maxStoredPackets` packets are kept.
public final class SocketIOInMemoryAdapter: SocketIOAdapter {
    struct StoredPacket: Sendable {
        var number: UInt64
        var options: SocketIOBroadcastOptions
        var data: SocketIOValue
        var emittedAt: ContinuousClock.Instant
    }

    struct State: Sendable {
        var rooms: [String: Set<String>] = [:]
        var socketRooms: [String: Set<String>] = [:]
        var sessions: [String: (snapshot: SocketIOSessionSnapshot, disconnectedAt: ContinuousClock.Instant)] = [:]
        var packets = CircularBuffer<StoredPacket>()
        var nextNumber: UInt64 = 1
    }

    public let context: SocketIOAdapterContext
    /// Most packets kept for recovery.
    public let maxStoredPackets: Int
    private let epoch: String
    private let state = Mutex(State())
    private let clock = ContinuousClock()

    public init(context: SocketIOAdapterContext, maxStoredPackets: Int = 100_000) {
        self.context = context
        self.maxStoredPackets = maxStoredPackets
        self.epoch = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }

    /// The factory to put in ``SocketIOConfiguration/adapter``.
    public static let factory: SocketIOAdapterFactory = { SocketIOInMemoryAdapter(context: $0) }

    public func addAll(_ socketID: String, to rooms: Set<String>) {
        state.withLock { state in
            state.socketRooms[socketID, default: []].formUnion(rooms)
            for room in rooms { state.rooms[room, default: []].insert(socketID) }
        }
    }

    public func delete(_ socketID: String, from room: String) {
        state.withLock { state in
            state.socketRooms[socketID]?.remove(room)
            state.rooms[room]?.remove(socketID)
            if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
        }
    }

    public func deleteAll(_ socketID: String) {
        state.withLock { state in
            guard let rooms = state.socketRooms.removeValue(forKey: socketID) else { return }
            for room in rooms {
                state.rooms[room]?.remove(socketID)
                if state.rooms[room]?.isEmpty == true { state.rooms[room] = nil }
            }
        }
    }

    public func rooms(of socketID: String) -> Set<String> {
        state.withLock { $0.socketRooms[socketID] ?? [] }
    }

    public func localSocketIDs(matching options: SocketIOBroadcastOptions) -> Set<String> {
        state.withLock { Self.recipients(options, in: $0) }
    }

    public func socketIDs(matching options: SocketIOBroadcastOptions) async throws -> Set<String> {
        localSocketIDs(matching: options)
    }

    public func allRooms() async throws -> Set<String> {
        state.withLock { Set($0.rooms.keys) }
    }

    static func recipients(_ options: SocketIOBroadcastOptions, in state: State) -> Set<String> {
        var ids: Set<String>
        if options.rooms.isEmpty {
            ids = Set(state.socketRooms.keys)
        } else if options.rooms.count == 1, let room = options.rooms.first {
            ids = state.rooms[room] ?? []
        } else {
            ids = []
            for room in options.rooms { ids.formUnion(state.rooms[room] ?? []) }
        }
        for room in options.except where !ids.isEmpty {
            ids.subtract(state.rooms[room] ?? [])
        }
        return ids
    }

    public func broadcast(_ broadcast: SocketIOBroadcast) {
        var packet = broadcast.packet
        let options = broadcast.options
        let now = clock.now
        let recipients = state.withLock { state -> Set<String> in
            if let recovery = context.recovery, packet.type == .event || packet.type == .binaryEvent, packet.id == nil,
                !options.volatile, case .array(var items) = packet.data
            {
                let number = state.nextNumber
                state.nextNumber += 1
                items.append(.string("\(epoch)-\(number)"))
                packet.data = .array(items)
                state.packets.append(StoredPacket(number: number, options: options, data: packet.data!, emittedAt: now))
                Self.expire(&state, now: now, maxAge: recovery.maxDisconnectionDuration, maxPackets: maxStoredPackets)
            }
            return Self.recipients(options, in: state)
        }
        if !recipients.isEmpty { context.deliver(packet, to: recipients) }
    }

    static func expire(_ state: inout State, now: ContinuousClock.Instant, maxAge: Duration, maxPackets: Int) {
        while let first = state.packets.first, first.emittedAt.advanced(by: maxAge) < now || state.packets.count > maxPackets {
            state.packets.removeFirst()
        }
    }

    public func persistSession(_ snapshot: SocketIOSessionSnapshot) {
        let now = clock.now
        state.withLock { state in
            state.sessions[snapshot.pid] = (snapshot, now)
            if let maxAge = context.recovery?.maxDisconnectionDuration {
                state.sessions = state.sessions.filter { $0.value.disconnectedAt.advanced(by: maxAge) >= now }
            }
        }
    }

    public func restoreSession(pid: String, offset: String) async throws -> SocketIORestoredSession? {
        guard let recovery = context.recovery else { return nil }
        let now = clock.now
        return state.withLock { state -> SocketIORestoredSession? in
            guard let (snapshot, disconnectedAt) = state.sessions[pid] else { return nil }
            guard disconnectedAt.advanced(by: recovery.maxDisconnectionDuration) >= now else {
                state.sessions[pid] = nil
                return nil
            }
            Self.expire(&state, now: now, maxAge: recovery.maxDisconnectionDuration, maxPackets: maxStoredPackets)
            let parts = offset.split(separator: "-")
            guard parts.count == 2, parts[0] == epoch, let number = UInt64(parts[1]), let first = state.packets.first,
                number >= first.number, number < state.nextNumber
            else { return nil }
            state.sessions[pid] = nil
            var missed: [SocketIOValue] = []
            let start = Int(number - first.number) + 1
            if start < state.packets.count {
                for index in start..<state.packets.count {
                    let stored = state.packets[state.packets.index(state.packets.startIndex, offsetBy: index)]
                    if stored.options.includes(socketRooms: snapshot.rooms) { missed.append(stored.data) }
                }
            }
            return SocketIORestoredSession(snapshot: snapshot, missedPackets: missed)
        }
    }
}
