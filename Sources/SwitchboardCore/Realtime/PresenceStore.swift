import Synchronization

/// Presence and conversation viewers (architecture: `PresenceStore`): the socket layer
/// tells it who connected, chose a status, opened or left a conversation, and it answers
/// what everyone must be told. Two implementations keep ``PresenceState``'s rules: this
/// process only (``InProcessPresence``), and Redis, shared by every node, where a node
/// that stops its heartbeat takes its users with it.
public protocol PresenceStore: Sendable {
    func connect(socketId: String, userId: String, name: String) async -> PresenceState.UserPresence?
    func disconnect(socketId: String) async -> (presence: PresenceState.UserPresence?, viewers: [PresenceState.ViewersChange])
    func set(_ status: PresenceState.Status, socketId: String) async -> PresenceState.UserPresence?
    func startViewing(socketId: String, conversationId: String) async -> PresenceState.ViewersChange?
    func stopViewing(socketId: String, conversationId: String) async -> PresenceState.ViewersChange?
    func viewers(of conversationId: String) async -> [PresenceState.Viewer]
    /// Every user who is not offline.
    func snapshot() async -> [PresenceState.UserPresence]
    /// Changes no socket of this process caused (another node died): they must be
    /// broadcast like the others. Never yields for the in-process store.
    func remoteChanges() -> AsyncStream<PresenceChange>
}

/// A change of presence to broadcast.
public enum PresenceChange: Sendable, Equatable {
    case user(PresenceState.UserPresence)
    case viewers(PresenceState.ViewersChange)
}

/// Presence of this process's sockets only (one `serve`, or no Redis).
public final class InProcessPresence: PresenceStore {
    private let state = Mutex(PresenceState())

    public init() {}

    public func connect(socketId: String, userId: String, name: String) async -> PresenceState.UserPresence? {
        state.withLock { $0.connect(socketId: socketId, userId: userId, name: name) }
    }

    public func disconnect(socketId: String) async -> (presence: PresenceState.UserPresence?, viewers: [PresenceState.ViewersChange]) {
        state.withLock { $0.disconnect(socketId: socketId) }
    }

    public func set(_ status: PresenceState.Status, socketId: String) async -> PresenceState.UserPresence? {
        state.withLock { $0.set(status, socketId: socketId) }
    }

    public func startViewing(socketId: String, conversationId: String) async -> PresenceState.ViewersChange? {
        state.withLock { $0.startViewing(socketId: socketId, conversationId: conversationId) }
    }

    public func stopViewing(socketId: String, conversationId: String) async -> PresenceState.ViewersChange? {
        state.withLock { $0.stopViewing(socketId: socketId, conversationId: conversationId) }
    }

    public func viewers(of conversationId: String) async -> [PresenceState.Viewer] {
        state.withLock { $0.viewers(of: conversationId) }
    }

    public func snapshot() async -> [PresenceState.UserPresence] {
        state.withLock { $0.snapshot }
    }

    public func remoteChanges() -> AsyncStream<PresenceChange> {
        AsyncStream { $0.finish() }
    }
}
