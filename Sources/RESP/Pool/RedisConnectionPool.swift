import Logging
import NIOCore
import Synchronization

/// A pool of ``RedisConnection``s: leases one connection per caller, opens connections on
/// demand up to a maximum, keeps a minimum open (reopening them with backoff), and fails
/// waiters after the acquire timeout. Its background work happens only inside ``run()``.
final class RedisConnectionPool: Sendable {
    struct Lease: Sendable {
        let id: Int
        let connection: RedisConnection
    }

    private struct Waiter {
        let continuation: CheckedContinuation<Lease, any Error>
        let timer: Scheduled<Void>?
    }

    private enum Event: Sendable {
        case connect
        case retry(attempt: Int)
    }

    private struct State {
        var machine: RedisPoolStateMachine
        var connections: [Int: RedisConnection] = [:]
        var waiters: [Int: Waiter] = [:]
        var nextConnectionID = 0
        var nextWaiterID = 0
        var lastError: RedisError?
    }

    private enum Effect {
        case resume(Waiter, Lease)
        case fail(Waiter, RedisError)
        case close(RedisConnection)
        case event(Event)
        case watch(RedisConnection, Int)
    }

    let configuration: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let states: RedisStateBroadcaster
    private let state: Mutex<State>
    private let events: AsyncStream<Event>
    private let eventsContinuation: AsyncStream<Event>.Continuation

    init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        onStateChange: (@Sendable (RedisStateChange) -> Void)?
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.states = RedisStateBroadcaster(initial: .connecting, callback: onStateChange)
        self.state = Mutex(
            State(
                machine: RedisPoolStateMachine(
                    minimumConnections: configuration.pool.minimumConnections,
                    maximumConnections: configuration.pool.maximumConnections
                )
            )
        )
        (events, eventsContinuation) = AsyncStream.makeStream()
    }

    /// Opens the minimum connections and serves connect requests until cancelled, then shuts
    /// the pool down.
    func run() async {
        let initial = state.withLock { $0.machine.start() }
        for _ in 0..<initial { eventsContinuation.yield(.connect) }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for await event in events {
                    switch event {
                    case .connect:
                        group.addTask { await self.openConnection() }
                    case .retry(let attempt):
                        let delay = configuration.reconnectBackoff.delay(attempt: attempt)
                        group.addTask {
                            try? await Task.sleep(for: delay)
                            guard self.state.withLock({ $0.machine.retryDue() }) else { return }
                            await self.openConnection()
                        }
                    }
                }
                group.cancelAll()
            }
        } onCancel: {
            self.shutdown()
        }
        shutdown()
    }

    /// Runs `body` with a connection no one else uses meanwhile.
    func withConnection<R: Sendable>(_ body: (RedisConnection) async throws -> R) async throws -> R {
        let lease = try await acquire()
        defer { release(lease) }
        return try await body(lease.connection)
    }

    func acquire() async throws -> Lease {
        // Fast path: an idle connection, no continuation needed. One that died while idle
        // (its close not yet processed) is handed back as dead and the next one tried.
        var waiterID = 0
        while true {
            let (immediate, id): (Lease?, Int) = state.withLock { s in
                defer { s.nextWaiterID += 1 }
                if s.machine.hasIdle, case .lease(let id) = s.machine.acquire(s.nextWaiterID) {
                    return (Lease(id: id, connection: s.connections[id]!), s.nextWaiterID)
                }
                return (nil, s.nextWaiterID)
            }
            waiterID = id
            guard let immediate else { break }
            if immediate.connection.isActive { return immediate }
            release(immediate)
        }
        let waiter = waiterID
        return try await wait(waiterID: waiter)
    }

    private func wait(waiterID: Int) async throws -> Lease {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let effects: [Effect] = state.withLock { s in
                    switch s.machine.acquire(waiterID) {
                    case .lease(let id):
                        return [.resume(Waiter(continuation: continuation, timer: nil), Lease(id: id, connection: s.connections[id]!))]
                    case .fail:
                        return [.fail(Waiter(continuation: continuation, timer: nil), Self.shutdownError)]
                    case .wait(let connect):
                        let timeout = configuration.pool.acquireTimeout
                        let timer = eventLoopGroup.any().scheduleTask(in: TimeAmount(timeout)) {
                            self.abandon(waiterID, RedisError(.poolTimeout, message: "no Redis connection free within \(timeout)"))
                        }
                        s.waiters[waiterID] = Waiter(continuation: continuation, timer: timer)
                        return connect ? [.event(.connect)] : []
                    }
                }
                run(effects)
            }
        } onCancel: {
            self.abandon(waiterID, RedisError(.cancelled, message: "cancelled while waiting for a connection"))
        }
    }

    func release(_ lease: Lease) {
        let active = lease.connection.isActive
        let effects: [Effect] = state.withLock { s in
            if !active { s.connections[lease.id] = nil }
            switch s.machine.release(lease.id, isActive: active) {
            case .none:
                return []
            case .lease(let id, let waiterID):
                guard let waiter = s.waiters.removeValue(forKey: waiterID) else { return [] }
                return [.resume(waiter, Lease(id: id, connection: lease.connection))]
            case .connect:
                return [.event(.connect)]
            case .close(let id):
                s.connections[id] = nil
                return [.close(lease.connection)]
            }
        }
        run(effects)
        // Handing back a live connection never changes the pool's health.
        if !active { publishHealth(error: RedisError(.connectionClosed, message: "connection lost")) }
    }

    private func abandon(_ waiterID: Int, _ error: RedisError) {
        let waiter: Waiter? = state.withLock { s in
            guard s.machine.removeWaiter(waiterID) else { return nil }
            return s.waiters.removeValue(forKey: waiterID)
        }
        if let waiter { run([.fail(waiter, error)]) }
    }

    private func openConnection() async {
        do {
            let connection = try await RedisConnection.connect(
                configuration: configuration,
                eventLoop: eventLoopGroup.any(),
                logger: logger
            )
            let effects: [Effect] = state.withLock { s in
                let id = s.nextConnectionID
                s.nextConnectionID += 1
                s.lastError = nil
                switch s.machine.connectSucceeded(id) {
                case .none:
                    s.connections[id] = connection
                    return [.watch(connection, id)]
                case .lease(let id, let waiterID):
                    s.connections[id] = connection
                    guard let waiter = s.waiters.removeValue(forKey: waiterID) else { return [.watch(connection, id)] }
                    return [.watch(connection, id), .resume(waiter, Lease(id: id, connection: connection))]
                case .close:
                    return [.close(connection)]
                }
            }
            run(effects)
            publishHealth(error: nil)
        } catch {
            let redisError = RedisChannelHandler.map(error)
            logger.debug("Redis connect failed", metadata: ["error": "\(redisError)"])
            let effects: [Effect] = state.withLock { s in
                s.lastError = redisError
                switch s.machine.connectFailed() {
                case .fail(let waiterIDs, let retry):
                    var effects: [Effect] = waiterIDs.compactMap { id in
                        s.waiters.removeValue(forKey: id).map { .fail($0, redisError) }
                    }
                    if let retry { effects.append(.event(.retry(attempt: retry))) }
                    return effects
                }
            }
            run(effects)
            publishHealth(error: redisError)
        }
    }

    private func connectionClosed(_ id: Int) {
        let effects: [Effect] = state.withLock { s in
            switch s.machine.connectionClosed(id) {
            case .none:
                if !s.machine.isLeased(id) { s.connections[id] = nil }
                return []
            case .connect:
                s.connections[id] = nil
                return [.event(.connect)]
            case .reconnect(let attempt):
                s.connections[id] = nil
                return [.event(.retry(attempt: attempt))]
            }
        }
        run(effects)
        publishHealth(error: RedisError(.connectionClosed, message: "connection lost"))
    }

    func shutdown() {
        let effects: [Effect] = state.withLock { s in
            if s.machine.isShutdown && s.waiters.isEmpty { return [] }
            let (close, fail) = s.machine.shutdown()
            var effects: [Effect] = close.compactMap { id in s.connections.removeValue(forKey: id).map { .close($0) } }
            effects += fail.compactMap { id in s.waiters.removeValue(forKey: id).map { .fail($0, Self.shutdownError) } }
            return effects
        }
        eventsContinuation.finish()
        run(effects)
        states.publish(RedisStateChange(state: .shutdown))
        states.finish()
    }

    static var shutdownError: RedisError { RedisError(.clientShutdown, message: "the Redis client has shut down") }

    private func publishHealth(error: RedisError?) {
        let health = state.withLock { $0.machine.health }
        if health == .reconnecting && states.current.state == .connected {
            states.publish(RedisStateChange(state: .disconnected, error: error))
        }
        states.publish(RedisStateChange(state: health, error: health == .connected ? nil : error))
    }

    private func run(_ effects: [Effect]) {
        for effect in effects {
            switch effect {
            case .resume(let waiter, let lease):
                waiter.timer?.cancel()
                waiter.continuation.resume(returning: lease)
            case .fail(let waiter, let error):
                waiter.timer?.cancel()
                waiter.continuation.resume(throwing: error)
            case .close(let connection):
                connection.channel.close(promise: nil)
            case .event(let event):
                eventsContinuation.yield(event)
            case .watch(let connection, let id):
                connection.closeFuture.whenComplete { _ in self.connectionClosed(id) }
            }
        }
    }
}
