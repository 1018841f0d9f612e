/// How a broadcast is targeted. Plain data, so a clustered adapter can ship it to other
/// nodes with the packet.
public struct SocketIOBroadcastOptions: Sendable, Hashable, Codable {
    /// Deliver to sockets in any of these rooms; empty means every socket of the namespace.
    public var rooms: Set<String>
    /// Skip sockets in any of these rooms (a socket id is a room holding only that socket).
    public var except: Set<String>
    /// May be dropped; never stored for connection-state recovery.
    public var volatile: Bool
    /// Only this node's sockets (a clustered adapter does not publish it).
    public var local: Bool

    public init(rooms: Set<String> = [], except: Set<String> = [], volatile: Bool = false, local: Bool = false) {
        self.rooms = rooms
        self.except = except
        self.volatile = volatile
        self.local = local
    }

    /// Whether a socket in `socketRooms` is a recipient (the rule recovery replays with).
    public func includes(socketRooms: some Sequence<String>) -> Bool {
        var included = rooms.isEmpty
        for room in socketRooms {
            if except.contains(room) { return false }
            if !included, rooms.contains(room) { included = true }
        }
        return included
    }
}

/// A packet and its targeting, as handed to an adapter.
public struct SocketIOBroadcast: Sendable, Hashable {
    public var packet: SocketIOPacket
    public var options: SocketIOBroadcastOptions

    public init(packet: SocketIOPacket, options: SocketIOBroadcastOptions) {
        self.packet = packet
        self.options = options
    }
}

/// What a disconnected socket leaves behind for connection-state recovery. Plain data, so
/// an adapter may keep it outside the process.
public struct SocketIOSessionSnapshot: Sendable, Hashable, Codable {
    /// The socket id the client gets back.
    public var sid: String
    /// The private session id the client presents (`auth.pid`).
    public var pid: String
    /// Rooms to rejoin (including `sid`).
    public var rooms: [String]
    /// The socket's application data.
    public var data: SocketIOValue

    public init(sid: String, pid: String, rooms: [String], data: SocketIOValue) {
        self.sid = sid
        self.pid = pid
        self.rooms = rooms
        self.data = data
    }
}

/// A recovered session: the snapshot and the EVENT payloads (offset last) missed since
/// the client's offset, in order.
public struct SocketIORestoredSession: Sendable, Hashable {
    public var snapshot: SocketIOSessionSnapshot
    public var missedPackets: [SocketIOValue]

    public init(snapshot: SocketIOSessionSnapshot, missedPackets: [SocketIOValue]) {
        self.snapshot = snapshot
        self.missedPackets = missedPackets
    }
}

/// Room membership, broadcasting and recovery storage for one namespace.
///
/// The server never touches rooms or broadcasts except through this protocol, so a
/// clustered adapter (Redis pub/sub) can replace the in-memory one: it keeps membership
/// for local sockets, publishes ``broadcast(_:)`` (unless `options.local`) and delivers what
/// other nodes publish through ``SocketIOAdapterContext/deliver(_:to:)``, answers
/// ``socketIDs(matching:)`` across nodes, and stores recovery sessions and packets in Redis.
/// Methods that must not wait are synchronous: a networked adapter queues the work on its
/// own `Service`.
public protocol SocketIOAdapter: Sendable {
    /// Adds a local socket to rooms.
    func addAll(_ socketID: String, to rooms: Set<String>)
    /// Removes a local socket from one room.
    func delete(_ socketID: String, from room: String)
    /// Removes a local socket from every room.
    func deleteAll(_ socketID: String)
    /// The rooms of a local socket.
    func rooms(of socketID: String) -> Set<String>
    /// Local sockets a broadcast with `options` reaches.
    func localSocketIDs(matching options: SocketIOBroadcastOptions) -> Set<String>
    /// Every socket (on every node) a broadcast with `options` reaches.
    func socketIDs(matching options: SocketIOBroadcastOptions) async throws -> Set<String>
    /// Every room known (on every node).
    func allRooms() async throws -> Set<String>
    /// Delivers a broadcast to matching local sockets (and, if clustered, to other nodes).
    /// With recovery on, an EVENT without ack id that is not volatile gets an offset
    /// appended as its last argument and is stored.
    func broadcast(_ broadcast: SocketIOBroadcast)
    /// Keeps a disconnected socket's state for recovery.
    func persistSession(_ snapshot: SocketIOSessionSnapshot)
    /// Finds the session `pid` and the packets after `offset`; `nil` when either is unknown
    /// or expired (the client then gets a fresh session).
    func restoreSession(pid: String, offset: String) async throws -> SocketIORestoredSession?
}

/// What the server gives an adapter when it creates one for a namespace.
public struct SocketIOAdapterContext: Sendable {
    /// The namespace name, e.g. `/`.
    public let namespace: String
    /// Recovery settings, `nil` when recovery is off.
    public let recovery: SocketIOConfiguration.ConnectionStateRecovery?
    let deliverer: @Sendable (SocketIOPacket, [String]) -> Void

    public init(
        namespace: String,
        recovery: SocketIOConfiguration.ConnectionStateRecovery?,
        deliver: @escaping @Sendable (SocketIOPacket, [String]) -> Void
    ) {
        self.namespace = namespace
        self.recovery = recovery
        self.deliverer = deliver
    }

    /// Sends `packet` (encoded once) to these local sockets; unknown ids are skipped.
    public func deliver(_ packet: SocketIOPacket, to socketIDs: some Sequence<String>) {
        deliverer(packet, Array(socketIDs))
    }
}

/// Makes the adapter of each namespace.
public typealias SocketIOAdapterFactory = @Sendable (SocketIOAdapterContext) -> any SocketIOAdapter
