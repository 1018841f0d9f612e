import NIOCore
import Synchronization

/// A live Engine.IO session: the state machine behind a lock, plus whoever consumes its
/// outbound frames (a waiting poll GET, or the WebSocket's sink). Sending is synchronous
/// and cheap from any task.
public final class EngineIOSession: Sendable {
    typealias Machine = EngineIOSessionStateMachine<ContinuousClock.Instant>

    struct Locked: Sendable {
        var machine: Machine
        /// The poll GET waiting for frames.
        var pollWaiter: CheckedContinuation<Machine.PullResult, Never>?
        /// The WebSocket carrying (or probing to carry) the session.
        var sink: (any EngineIOWebSocketSink)?
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

    /// Runs timers due at `now`; returns the next deadline to schedule, `nil` once closed.
    func fireTimer(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        apply { $0.timerFired(now: now) }
        return locked.withLock { $0.machine.nextDeadline }
    }

    // MARK: WebSocket

    /// Makes `sink` the session's WebSocket; `false` when another one holds it or the
    /// session cannot take one (a probe must find a polling session).
    func attach(_ sink: any EngineIOWebSocketSink, probing: Bool) -> Bool {
        locked.withLock { locked in
            guard locked.sink == nil, !locked.machine.isClosed else { return false }
            if probing, locked.machine.state != .polling { return false }
            locked.sink = sink
            return true
        }
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

    /// The probe WebSocket went away before `5`: the session stays on polling.
    func upgradeAborted(_ sink: any EngineIOWebSocketSink) {
        locked.withLock { locked in
            locked.machine.upgradeAborted()
            if locked.sink === sink { locked.sink = nil }
        }
    }

    /// The WebSocket asks for frames (on its own thread). After `.wait`, the sink gets the
    /// next frames as soon as there are some.
    func pullWebSocket() -> Machine.PullResult {
        let result = locked.withLock { locked in
            let result = locked.machine.webSocketPull()
            if case .finish = result { locked.sink = nil }
            return result
        }
        if case .finish(_, let closed?) = result { server.sessionClosed(self, reason: closed) }
        return result
    }

    // MARK: Internal plumbing

    /// Who hears of one event: the poll waiting at the time of the event, and the WebSocket
    /// sink (with the frames when it was the one waiting, or just the close of a session it
    /// carries or probes).
    private struct Deliveries {
        var poll: (waiter: CheckedContinuation<Machine.PullResult, Never>, wake: Machine.Wake)?
        var sink: (sink: any EngineIOWebSocketSink, frames: [EngineIOFrame], finish: Bool)?
    }

    /// Runs one machine event under the lock and carries out its output.
    func apply(_ event: (inout Machine) -> Machine.Output) {
        let (output, deliveries) = locked.withLock { locked -> (Machine.Output, Deliveries) in
            let consumer = locked.machine.waiter
            let output = event(&locked.machine)
            var deliveries = Deliveries()
            switch (output.wake, consumer) {
            case (.frames(let frames)?, .webSocket?):
                deliveries.sink = locked.sink.map { ($0, frames, false) }
            case (.finish(let frames)?, .webSocket?):
                deliveries.sink = locked.sink.map { ($0, frames, true) }
            case (let wake?, _):
                deliveries.poll = locked.pollWaiter.map { ($0, wake) }
                locked.pollWaiter = nil
            case (nil, _):
                break
            }
            if output.closed != nil {
                // The WebSocket hears of the close even when it was not waiting for frames.
                if deliveries.sink == nil, let sink = locked.sink { deliveries.sink = (sink, [], true) }
                locked.sink = nil
            }
            return (output, deliveries)
        }
        switch deliveries.poll {
        case (let waiter, .frames(let frames))?: waiter.resume(returning: .frames(frames))
        case (let waiter, .finish(let frames))?: waiter.resume(returning: .finish(frames, closed: nil))
        case nil: break
        }
        if let (sink, frames, finish) = deliveries.sink { sink.engineIODeliver(frames, finish: finish) }
        for message in output.messages { server.handler.engineIOSession(self, didReceive: message) }
        if let reason = output.closed { server.sessionClosed(self, reason: reason) }
    }

    /// Waits for frames as the poll GET. A cancelled wait (the GET's connection went away)
    /// returns no frames.
    func pull(_ pull: @escaping @Sendable (inout Machine) -> Machine.PullResult) async -> Machine.PullResult {
        await withTaskCancellationHandler {
            await self.pullWaiting(pull)
        } onCancel: {
            let waiter = locked.withLock { locked -> CheckedContinuation<Machine.PullResult, Never>? in
                guard let waiter = locked.pollWaiter else { return nil }
                locked.machine.waiterCancelled()
                locked.pollWaiter = nil
                return waiter
            }
            waiter?.resume(returning: .frames([]))
        }
    }

    private func pullWaiting(_ pull: @escaping @Sendable (inout Machine) -> Machine.PullResult) async -> Machine.PullResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<Machine.PullResult, Never>) in
            enum Next {
                case now(Machine.PullResult, previous: CheckedContinuation<Machine.PullResult, Never>?, sink: (any EngineIOWebSocketSink)?)
                case waiting
            }
            let next: Next = locked.withLock { locked in
                if Task.isCancelled { return .now(.frames([]), previous: nil, sink: nil) }
                let result = pull(&locked.machine)
                var previous: CheckedContinuation<Machine.PullResult, Never>?
                var closed: EngineIOCloseReason?
                switch result {
                case .wait:
                    locked.pollWaiter = continuation
                    return .waiting
                case .reject(_, let reason, let wake):
                    if wake != nil { (previous, locked.pollWaiter) = (locked.pollWaiter, nil) }
                    closed = reason
                case .finish(_, let reason):
                    closed = reason
                case .frames:
                    break
                }
                // A probe WebSocket hears of the close too.
                let sink = closed != nil ? locked.sink : nil
                if closed != nil { locked.sink = nil }
                return .now(result, previous: previous, sink: sink)
            }
            guard case .now(let result, let previous, let sink) = next else { return }
            continuation.resume(returning: result)
            sink?.engineIODeliver([], finish: true)
            switch result {
            case .reject(_, let closed, let wake):
                switch wake {
                case .frames(let frames)?: previous?.resume(returning: .frames(frames))
                case .finish(let frames)?: previous?.resume(returning: .finish(frames, closed: nil))
                case nil: break
                }
                if let closed { server.sessionClosed(self, reason: closed) }
            case .finish(_, let closed?):
                server.sessionClosed(self, reason: closed)
            default:
                break
            }
        }
    }
}
