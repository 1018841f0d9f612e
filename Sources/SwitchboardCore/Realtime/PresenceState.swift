/// Who is online and who is looking at which conversation, as a plain value: sockets come
/// and go, and each mutation says what others must be told. ``InProcessPresence`` wraps
/// one; the Redis one keeps one per node for its own sockets and applies the same rules
/// across nodes.
public struct PresenceState: Sendable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case online
        case away
        case offline
    }

    /// A user's presence as broadcast (`presence:update`, `presence:snapshot`).
    public struct UserPresence: Sendable, Equatable, Codable {
        public var userId: String
        public var name: String
        public var status: Status

        public init(userId: String, name: String, status: Status) {
            self.userId = userId
            self.name = name
            self.status = status
        }
    }

    /// An agent viewing a conversation.
    public struct Viewer: Sendable, Equatable, Hashable, Codable {
        public var userId: String
        public var name: String

        public init(userId: String, name: String) {
            self.userId = userId
            self.name = name
        }
    }

    /// The viewers of a conversation after they changed (`conversation:viewers`).
    public struct ViewersChange: Sendable, Equatable, Codable {
        public var conversationId: String
        public var viewers: [Viewer]

        public init(conversationId: String, viewers: [Viewer]) {
            self.conversationId = conversationId
            self.viewers = viewers
        }
    }

    struct Connection: Equatable {
        var userId: String
        var name: String
        var viewing: Set<String> = []
    }

    private var connections: [String: Connection] = [:]
    /// The status each user chose; effective only while they have a socket.
    private var chosen: [String: Status] = [:]
    private var viewersBySocket: [String: Set<String>] = [:]

    public init() {}

    /// The effective status of a user: what they chose while connected, else offline.
    public func status(of userId: String) -> Status {
        guard isConnected(userId) else { return .offline }
        return chosen[userId] ?? .online
    }

    private func isConnected(_ userId: String) -> Bool {
        connections.values.contains { $0.userId == userId }
    }

    /// Every user who is not offline, by name.
    public var snapshot: [UserPresence] {
        var users: [String: String] = [:]
        for connection in connections.values { users[connection.userId] = connection.name }
        return users.map { UserPresence(userId: $0.key, name: $0.value, status: status(of: $0.key)) }
            .filter { $0.status != .offline }
            .sorted { ($0.name, $0.userId) < ($1.name, $1.userId) }
    }

    /// A socket of `userId` connected; returns the user's new presence when it changed
    /// (their first socket, and they had not chosen to appear offline).
    public mutating func connect(socketId: String, userId: String, name: String) -> UserPresence? {
        let before = status(of: userId)
        connections[socketId] = Connection(userId: userId, name: name)
        return change(userId, name: name, from: before)
    }

    /// A socket went: the user goes offline with their last socket, and the conversations
    /// it was viewing lose a viewer when no other socket of that user views them.
    public mutating func disconnect(socketId: String) -> (presence: UserPresence?, viewers: [ViewersChange]) {
        guard let connection = connections[socketId] else { return (nil, []) }
        var changes: [ViewersChange] = []
        for conversationId in connection.viewing.sorted() {
            if let change = stopViewing(socketId: socketId, conversationId: conversationId) { changes.append(change) }
        }
        let before = status(of: connection.userId)
        connections[socketId] = nil
        let presence = change(connection.userId, name: connection.name, from: before)
        if !isConnected(connection.userId) { chosen[connection.userId] = nil }
        return (presence, changes)
    }

    /// The user chose a status (from any of their sockets; it applies to all of them).
    public mutating func set(_ status: Status, socketId: String) -> UserPresence? {
        guard let connection = connections[socketId] else { return nil }
        let before = self.status(of: connection.userId)
        chosen[connection.userId] = status
        return change(connection.userId, name: connection.name, from: before)
    }

    /// The socket opened a conversation; returns the new viewer list when the set of
    /// users viewing it changed.
    public mutating func startViewing(socketId: String, conversationId: String) -> ViewersChange? {
        guard connections[socketId] != nil else { return nil }
        let before = viewers(of: conversationId)
        connections[socketId]?.viewing.insert(conversationId)
        viewersBySocket[conversationId, default: []].insert(socketId)
        return viewersChange(conversationId, from: before)
    }

    /// The socket left a conversation.
    public mutating func stopViewing(socketId: String, conversationId: String) -> ViewersChange? {
        guard connections[socketId]?.viewing.contains(conversationId) == true else { return nil }
        let before = viewers(of: conversationId)
        connections[socketId]?.viewing.remove(conversationId)
        viewersBySocket[conversationId]?.remove(socketId)
        if viewersBySocket[conversationId]?.isEmpty == true { viewersBySocket[conversationId] = nil }
        return viewersChange(conversationId, from: before)
    }

    /// The users viewing a conversation (one entry per user however many tabs), by name.
    public func viewers(of conversationId: String) -> [Viewer] {
        let sockets = viewersBySocket[conversationId] ?? []
        let unique = Set(sockets.compactMap { connections[$0].map { Viewer(userId: $0.userId, name: $0.name) } })
        return unique.sorted { ($0.name, $0.userId) < ($1.name, $1.userId) }
    }

    /// The user a socket belongs to and their name, if it is connected.
    public func user(of socketId: String) -> (userId: String, name: String)? {
        connections[socketId].map { ($0.userId, $0.name) }
    }

    /// The conversations a socket views.
    public func viewing(of socketId: String) -> Set<String> {
        connections[socketId]?.viewing ?? []
    }

    /// How many sockets the user has here.
    public func sockets(of userId: String) -> Int {
        connections.values.reduce(0) { $0 + ($1.userId == userId ? 1 : 0) }
    }

    /// How many of the user's sockets here view the conversation.
    public func viewingSockets(userId: String, conversationId: String) -> Int {
        (viewersBySocket[conversationId] ?? []).reduce(0) { $0 + (connections[$1]?.userId == userId ? 1 : 0) }
    }

    /// The status the user chose through a socket here, if any.
    public func chosenStatus(of userId: String) -> Status? {
        chosen[userId]
    }

    /// What the sockets of this registry add up to, per user: the whole state a shared
    /// registry needs to rebuild this node's part of it.
    public var contribution: Contribution {
        var result = Contribution()
        for connection in connections.values {
            result.users[connection.userId, default: .init(name: connection.name, sockets: 0)].sockets += 1
            for conversationId in connection.viewing {
                result.viewing[conversationId, default: [:]][connection.userId, default: 0] += 1
            }
        }
        result.chosen = chosen
        return result
    }

    /// One node's share of presence: its users with their socket counts, the
    /// conversations they view (sockets per user) and the statuses chosen on it.
    public struct Contribution: Sendable, Equatable {
        public struct User: Sendable, Equatable {
            public var name: String
            public var sockets: Int
        }

        public var users: [String: User] = [:]
        public var viewing: [String: [String: Int]] = [:]
        public var chosen: [String: Status] = [:]
    }

    private func change(_ userId: String, name: String, from before: Status) -> UserPresence? {
        let after = status(of: userId)
        return after == before ? nil : UserPresence(userId: userId, name: name, status: after)
    }

    private func viewersChange(_ conversationId: String, from before: [Viewer]) -> ViewersChange? {
        let after = viewers(of: conversationId)
        return after == before ? nil : ViewersChange(conversationId: conversationId, viewers: after)
    }
}
