/// The decisions of the connection pool, as a value: who gets which connection, when to open
/// one, whom to fail. Connections and waiters are plain IDs; the pool object holds the real
/// things and executes the returned actions.
struct RedisPoolStateMachine: Sendable {
    typealias ConnectionID = Int
    typealias WaiterID = Int

    enum AcquireAction: Equatable {
        case lease(ConnectionID)
        /// Park the waiter; open a connection if `connect`.
        case wait(connect: Bool)
        case fail(RedisError.Code)
    }

    enum ReleaseAction: Equatable {
        case none
        case lease(ConnectionID, to: WaiterID)
        /// The connection is dead; open another for the waiters.
        case connect
        case close(ConnectionID)
    }

    enum ConnectedAction: Equatable {
        case none
        case lease(ConnectionID, to: WaiterID)
        case close(ConnectionID)
    }

    enum FailedAction: Equatable {
        /// Fail these waiters with the connect error; retry after attempt `retry` if set.
        case fail([WaiterID], retryAttempt: Int?)
    }

    enum ClosedAction: Equatable {
        case none
        case connect
        case reconnect(attempt: Int)
    }

    let minimumConnections: Int
    let maximumConnections: Int

    private var idle: [ConnectionID] = []
    private var leased: Set<ConnectionID> = []
    private var connecting = 0
    private var retryScheduled = false
    private var waiters: [WaiterID] = []
    private var failures = 0
    private(set) var isShutdown = false
    /// The health to report; read it after every call.
    private(set) var health: RedisConnectionState = .connecting

    init(minimumConnections: Int, maximumConnections: Int) {
        self.minimumConnections = max(0, min(minimumConnections, maximumConnections))
        self.maximumConnections = max(1, maximumConnections)
    }

    var openCount: Int { idle.count + leased.count }
    var waiterCount: Int { waiters.count }

    var hasIdle: Bool { !idle.isEmpty && !isShutdown }

    func isLeased(_ id: ConnectionID) -> Bool { leased.contains(id) }

    /// Connections to open at start-up.
    mutating func start() -> Int {
        let n = max(0, minimumConnections - openCount - connecting)
        connecting += n
        return n
    }

    mutating func acquire(_ waiter: WaiterID) -> AcquireAction {
        if isShutdown { return .fail(.clientShutdown) }
        if let id = idle.popLast() {
            leased.insert(id)
            return .lease(id)
        }
        waiters.append(waiter)
        let pendingOpens = connecting + (retryScheduled ? 1 : 0)
        if pendingOpens < waiters.count && openCount + connecting < maximumConnections {
            connecting += 1
            return .wait(connect: true)
        }
        return .wait(connect: false)
    }

    mutating func release(_ id: ConnectionID, isActive: Bool) -> ReleaseAction {
        guard leased.remove(id) != nil else { return .none }
        if isShutdown { return .close(id) }
        guard isActive else {
            if openCount == 0 { health = .disconnected }
            let wanted = !waiters.isEmpty || openCount + connecting < minimumConnections
            if wanted && openCount + connecting < maximumConnections && !retryScheduled {
                if openCount == 0 { health = .reconnecting }
                connecting += 1
                return .connect
            }
            return .none
        }
        if !waiters.isEmpty {
            leased.insert(id)
            return .lease(id, to: waiters.removeFirst())
        }
        idle.append(id)
        return .none
    }

    mutating func connectSucceeded(_ id: ConnectionID) -> ConnectedAction {
        connecting -= 1
        failures = 0
        if isShutdown { return .close(id) }
        health = .connected
        if !waiters.isEmpty {
            leased.insert(id)
            return .lease(id, to: waiters.removeFirst())
        }
        idle.append(id)
        return .none
    }

    mutating func connectFailed() -> FailedAction {
        connecting -= 1
        failures += 1
        if isShutdown { return .fail([], retryAttempt: nil) }
        let failed = waiters
        waiters.removeAll()
        if openCount == 0 { health = .disconnected }
        if openCount + connecting < minimumConnections && !retryScheduled {
            retryScheduled = true
            health = openCount == 0 ? .reconnecting : health
            return .fail(failed, retryAttempt: failures - 1)
        }
        return .fail(failed, retryAttempt: nil)
    }

    /// The backoff delay ended: open the connection now.
    mutating func retryDue() -> Bool {
        retryScheduled = false
        if isShutdown { return false }
        connecting += 1
        return true
    }

    /// An idle connection closed (a leased one is noticed at release).
    mutating func connectionClosed(_ id: ConnectionID) -> ClosedAction {
        guard let index = idle.firstIndex(of: id) else { return .none }
        idle.remove(at: index)
        if isShutdown { return .none }
        if openCount == 0 { health = .disconnected }
        if openCount + connecting < minimumConnections && !retryScheduled {
            if openCount == 0 { health = .reconnecting }
            connecting += 1
            return .connect
        }
        return .none
    }

    /// A waiter gave up (timeout or cancellation); true if it was still waiting.
    mutating func removeWaiter(_ waiter: WaiterID) -> Bool {
        guard let index = waiters.firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Stop: close idle connections, fail waiters. Leased ones close when released.
    mutating func shutdown() -> (close: [ConnectionID], fail: [WaiterID]) {
        isShutdown = true
        health = .shutdown
        defer {
            idle.removeAll()
            waiters.removeAll()
        }
        return (idle, waiters)
    }
}
