import NIOCore
import Synchronization

/// A live Engine.IO session: the state machine behind a lock, plus the continuation of
/// whoever waits for outbound frames. Sending is synchronous and cheap from any task.
public final class EngineIOSession: Sendable {
    typealias Machine = EngineIOSessionStateMachine<ContinuousClock.Instant>

    struct Locked: Sendable {
        var machine: Machine
        var waiter: CheckedContinuation<Machine.PullResult, Never>?
        var closedWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID = 0
        var closeCallbacks: [@Sendable () -> Void] = []
        var attachment: (any Sendable)?
    }

    /// The session id (`sid`).
    public let id: String
    /// The request that opened the session.
    public let request: EngineIORequest
    /// The transport the session was opened with.
    public let initialTransport: EngineIOTransport
    let locked: Mutex<Locked>
    unowned let server: EngineIOServer

    init(id: String, request: EngineIORequest, transport: EngineIOTransport, server: EngineIOServer, now: ContinuousClock.Instant) {
        self.id = id
        self.request = request
        self.initialTransport = transport
        self.server = server
        self.locked = Mutex(Locked(machine: Machine(configuration: server.configuration, transport: transport, now: now)))
    }

    /// State the layer above keeps with the session (set once in `engineIOSessionDidOpen`).
    public var attachment: (any Sendable)? {
        get { locked.withLock { $0.attachment } }
        set { locked.withLock { $0.attachment = newValue } }
    }

    /// The transport in use, `nil` once closed.
    public var transport: EngineIOTransport? { locked.withLock { $0.machine.transport } }

    /// Whether the session has closed.
    public var isClosed: Bool { locked.withLock { $0.machine.isClosed } }

    /// Frames queued and not yet written.
    public var bufferedFrames: Int { locked.withLock { $0.machine.bufferedFrames } }

    /// Queues frames for the client. Dropped when closed; closes a slow client past the bounds.
    public func send(_ frames: [EngineIOFrame]) {
        apply { $0.send(frames) }
    }

    /// Queues one frame.
    public func send(_ frame: EngineIOFrame) {
        apply { $0.send([frame]) }
    }

    /// Queues a `message` packet.
    public func send(_ data: EngineIOData) {
        send(EngineIOPacket(.message, data).encodeFrame())
    }

    /// Closes the session now (queued frames are dropped).
    public func close(_ reason: EngineIOCloseReason = .forcedClose) {
        apply { $0.close(reason) }
    }

    /// Closes once queued frames are written (or the next heartbeat passes).
    public func closeAfterFlush(_ reason: EngineIOCloseReason = .forcedClose) {
        apply { $0.closeAfterFlush(reason) }
    }

    /// The layer above accepted the session: cancels the connect timeout.
    public func confirmConnected() {
        locked.withLock { $0.machine.confirmConnected() }
    }

    /// Returns when the session has closed (or the task is cancelled).
    public func waitUntilClosed() async {
        let id = locked.withLock { locked in
            defer { locked.nextWaiterID += 1 }
            return locked.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = locked.withLock { locked -> Bool in
                    if locked.machine.isClosed || Task.isCancelled { return true }
                    locked.closedWaiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            locked.withLock { $0.closedWaiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Calls `callback` once when the session closes (at once if it already has). It runs
    /// on the closing task and must not block.
    public func onClose(_ callback: @escaping @Sendable () -> Void) {
        let closed = locked.withLock { locked -> Bool in
            if locked.machine.isClosed { return true }
            locked.closeCallbacks.append(callback)
            return false
        }
        if closed { callback() }
    }

    /// Runs timers due at `now`; returns the next deadline to schedule, `nil` once closed.
    func fireTimer(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        apply { $0.timerFired(now: now) }
        return locked.withLock { $0.machine.nextDeadline }
    }

    func probe(now: ContinuousClock.Instant) -> Bool {
        var accepted = false
        apply { machine in
            guard let output = machine.probeReceived(now: now) else { return .none }
            accepted = true
            return output
        }
        return accepted
    }

    func upgrade() -> Bool {
        var accepted = false
        apply { machine in
            guard let output = machine.upgradeReceived() else { return .none }
            accepted = true
            return output
        }
        return accepted
    }

    func upgradeAborted() {
        locked.withLock { $0.machine.upgradeAborted() }
    }

    // MARK: Internal plumbing

    /// Runs one machine event under the lock and carries out its output.
    func apply(_ event: (inout Machine) -> Machine.Output) {
        let (output, waiter, closedWaiters) = locked.withLock { locked in
            let output = event(&locked.machine)
            var waiter: CheckedContinuation<Machine.PullResult, Never>?
            if output.wake != nil {
                waiter = locked.waiter
                locked.waiter = nil
            }
            var closedWaiters: [CheckedContinuation<Void, Never>] = []
            if output.closed != nil {
                closedWaiters = Array(locked.closedWaiters.values)
                locked.closedWaiters = [:]
            }
            return (output, waiter, closedWaiters)
        }
        perform(output, waiter: waiter, closedWaiters: closedWaiters)
    }

    func perform(
        _ output: Machine.Output,
        waiter: CheckedContinuation<Machine.PullResult, Never>?,
        closedWaiters: [CheckedContinuation<Void, Never>]
    ) {
        if let wake = output.wake {
            switch wake {
            case .frames(let frames): waiter?.resume(returning: .frames(frames))
            case .finish(let frames): waiter?.resume(returning: .finish(frames, closed: nil))
            }
        }
        for message in output.messages { server.handler.engineIOSession(self, didReceive: message) }
        if let reason = output.closed {
            for waiter in closedWaiters { waiter.resume() }
            let callbacks = locked.withLock { locked in
                defer { locked.closeCallbacks = [] }
                return locked.closeCallbacks
            }
            for callback in callbacks { callback() }
            server.sessionClosed(self, reason: reason)
        }
    }

    /// Waits for frames as the poll GET or the WebSocket writer.
    /// A cancelled wait (the GET's connection went away) returns no frames.
    func pull(_ pull: @escaping @Sendable (inout Machine) -> Machine.PullResult) async -> Machine.PullResult {
        await withTaskCancellationHandler {
            await self.pullWaiting(pull)
        } onCancel: {
            let waiter = locked.withLock { locked -> CheckedContinuation<Machine.PullResult, Never>? in
                guard let waiter = locked.waiter else { return nil }
                locked.machine.waiterCancelled()
                locked.waiter = nil
                return waiter
            }
            waiter?.resume(returning: .frames([]))
        }
    }

    private func pullWaiting(_ pull: @escaping @Sendable (inout Machine) -> Machine.PullResult) async -> Machine.PullResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<Machine.PullResult, Never>) in
            enum Next {
                case now(Machine.PullResult, CheckedContinuation<Machine.PullResult, Never>?, [CheckedContinuation<Void, Never>])
                case waiting
            }
            let next: Next = locked.withLock { locked in
                if Task.isCancelled { return .now(.frames([]), nil, []) }
                let result = pull(&locked.machine)
                switch result {
                case .wait:
                    locked.waiter = continuation
                    return .waiting
                case .reject(_, let closed, let wake):
                    let previous = wake != nil ? locked.waiter : nil
                    if wake != nil { locked.waiter = nil }
                    let closedWaiters = closed != nil ? Array(locked.closedWaiters.values) : []
                    if closed != nil { locked.closedWaiters = [:] }
                    return .now(result, previous, closedWaiters)
                case .finish(_, let closed):
                    let closedWaiters = closed != nil ? Array(locked.closedWaiters.values) : []
                    if closed != nil { locked.closedWaiters = [:] }
                    return .now(result, nil, closedWaiters)
                case .frames:
                    return .now(result, nil, [])
                }
            }
            switch next {
            case .waiting:
                break
            case .now(let result, let previous, let closedWaiters):
                continuation.resume(returning: result)
                switch result {
                case .reject(_, let closed, let wake):
                    perform(.init(wake: wake, closed: closed), waiter: previous, closedWaiters: closedWaiters)
                case .finish(_, let closed):
                    perform(.init(closed: closed), waiter: nil, closedWaiters: closedWaiters)
                default:
                    break
                }
            }
        }
    }
}
