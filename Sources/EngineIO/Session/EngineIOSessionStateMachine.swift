import NIOCore

/// The life of one Engine.IO session as a value: transports, upgrade, heartbeat, outbound
/// buffer. It performs no I/O and reads no clock; callers pass `now` and run what it returns.
///
/// Invariants: at most one consumer (a pending GET or the WebSocket writer) waits for frames;
/// a frame leaves the outbox exactly once (nothing lost or duplicated across an upgrade); the
/// outbox never holds more than the configured bounds (past them the session closes).
public struct EngineIOSessionStateMachine<Instant: InstantProtocol & Sendable>: Sendable
where Instant.Duration == Duration {
    /// Where the session stands.
    public enum State: Sendable, Hashable {
        case polling
        /// A WebSocket answered the probe; polling still carries data until `5` arrives.
        case upgrading
        case websocket
        /// Closing after the outbox drains (graceful server close).
        case closing(EngineIOCloseReason)
        case closed(EngineIOCloseReason)
    }

    /// Who is waiting for outbound frames.
    public enum Waiter: Sendable, Hashable {
        case poll
        case webSocket
    }

    /// What a waiting consumer must do now.
    public enum Wake: Sendable, Hashable {
        /// Deliver these frames; keep serving.
        case frames([EngineIOFrame])
        /// Deliver these frames, then end: the GET answers with them and the session is gone,
        /// or the WebSocket writes them and closes.
        case finish([EngineIOFrame])
    }

    /// The effects of one event.
    public struct Output: Sendable, Hashable {
        /// Resume the waiting consumer (``waiter`` at the time of the event) with this.
        public var wake: Wake?
        /// The session closed during this event: tell the layer above, drop it from the registry.
        public var closed: EngineIOCloseReason?
        /// Application messages received, in order.
        public var messages: [EngineIOData]

        public init(wake: Wake? = nil, closed: EngineIOCloseReason? = nil, messages: [EngineIOData] = []) {
            self.wake = wake
            self.closed = closed
            self.messages = messages
        }
        public static var none: Output { Output() }
    }

    /// Answer to a GET (polling) or to the WebSocket writer asking for frames.
    public enum PullResult: Sendable, Hashable {
        /// Answer now with these frames.
        case frames([EngineIOFrame])
        /// Answer with these frames and end (session closed after a graceful close or timeout).
        case finish([EngineIOFrame], closed: EngineIOCloseReason?)
        /// Nothing yet: wait for a ``Wake``.
        case wait
        /// Refuse the request (HTTP 400); `closed` when the refusal closed the session, and
        /// `wake` for the consumer that was already waiting.
        case reject(EngineIOError, closed: EngineIOCloseReason?, wake: Wake?)
    }

    enum Heartbeat: Sendable, Hashable {
        case waitingToPing(at: Instant)
        case awaitingPong(deadline: Instant)
    }

    public let configuration: EngineIOConfiguration
    public private(set) var state: State
    public private(set) var waiter: Waiter?
    private var outbox: [EngineIOFrame] = []
    public private(set) var bufferedBytes = 0
    private var heartbeat: Heartbeat
    private var connectDeadline: Instant?
    private var upgradeDeadline: Instant?

    /// Starts a session opened on `transport` at `now`; the first ping is due one
    /// `pingInterval` later.
    public init(configuration: EngineIOConfiguration, transport: EngineIOTransport, now: Instant) {
        self.configuration = configuration
        self.state = transport == .polling ? .polling : .websocket
        self.heartbeat = .waitingToPing(at: now.advanced(by: configuration.pingInterval))
        self.connectDeadline = configuration.connectTimeout.map { now.advanced(by: $0) }
    }

    /// Frames waiting to be delivered.
    public var bufferedFrames: Int { outbox.count }

    /// The current transport, `nil` once closed.
    public var transport: EngineIOTransport? {
        switch state {
        case .polling, .upgrading: .polling
        case .websocket: .websocket
        case .closing, .closed: nil
        }
    }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// The earliest instant at which ``timerFired(now:)`` has work to do.
    public var nextDeadline: Instant? {
        if case .closed = state { return nil }
        var deadline: Instant
        switch heartbeat {
        case .waitingToPing(let at): deadline = at
        case .awaitingPong(let at): deadline = at
        }
        if let connectDeadline, connectDeadline < deadline { deadline = connectDeadline }
        if let upgradeDeadline, upgradeDeadline < deadline { deadline = upgradeDeadline }
        return deadline
    }

    // MARK: Outbound

    /// Queues frames for the client. Past the buffer bounds the session closes as a slow client.
    public mutating func send(_ frames: [EngineIOFrame]) -> Output {
        switch state {
        case .closed, .closing: return .none
        case .polling, .upgrading, .websocket: break
        }
        for frame in frames {
            outbox.append(frame)
            bufferedBytes += frame.byteCount
        }
        if outbox.count > configuration.maxBufferedPackets || bufferedBytes > configuration.maxBufferedBytes {
            return close(.slowClient)
        }
        return Output(wake: wakeWaiterWithOutbox())
    }

    /// Convenience for one frame.
    public mutating func send(_ frame: EngineIOFrame) -> Output { send([frame]) }

    private mutating func drainOutbox() -> [EngineIOFrame] {
        let frames = outbox
        outbox = []
        bufferedBytes = 0
        return frames
    }

    private mutating func wakeWaiterWithOutbox() -> Wake? {
        guard waiter != nil, !outbox.isEmpty else { return nil }
        waiter = nil
        return .frames(drainOutbox())
    }

    // MARK: Polling

    /// A GET arrived for this session.
    public mutating func pollRequested(now: Instant) -> PullResult {
        let timer = timerFired(now: now)
        if let closed = timer.closed {
            return .reject(EngineIOError(.unknownSession, "session closed: \(closed.rawValue)"), closed: closed, wake: timer.wake)
        }
        switch state {
        case .closed:
            return .reject(EngineIOError(.unknownSession, "session closed"), closed: nil, wake: nil)
        case .websocket:
            return .reject(EngineIOError(.badRequest, "session upgraded to websocket"), closed: nil, wake: nil)
        case .closing(let reason):
            var frames = drainOutbox()
            frames.append(EngineIOPacket.close.encodeFrame())
            state = .closed(reason)
            return .finish(frames, closed: reason)
        case .polling, .upgrading:
            if waiter == .poll {
                // Overlapping GET: the protocol closes the session; the first GET gets `1`.
                waiter = nil
                outbox.removeAll()
                bufferedBytes = 0
                state = .closed(.transportError)
                return .reject(
                    EngineIOError(.concurrentPoll, "overlapping GET"),
                    closed: .transportError,
                    wake: .finish([EngineIOPacket.close.encodeFrame()])
                )
            }
            if !outbox.isEmpty { return .frames(drainOutbox()) }
            if state == .upgrading { return .frames([EngineIOPacket.noop.encodeFrame()]) }
            waiter = .poll
            return .wait
        }
    }

    /// The waiting consumer went away without being answered (the GET's client hung up,
    /// or the WebSocket writer was cancelled). Queued frames stay for the next one.
    public mutating func waiterCancelled() {
        waiter = nil
    }

    /// A POST body was decoded into `packets`.
    public mutating func postReceived(_ packets: [EngineIOPacket], now: Instant) -> Output {
        let timer = timerFired(now: now)
        if timer.closed != nil { return timer }
        switch state {
        case .closed, .closing:
            return .none
        case .websocket:
            return .none
        case .polling, .upgrading:
            var output = timer
            for packet in packets {
                let step = received(packet, now: now)
                output.messages += step.messages
                if step.wake != nil { output.wake = step.wake }
                if let closed = step.closed {
                    output.closed = closed
                    return output
                }
            }
            return output
        }
    }

    /// The POST body did not parse or was too large: the session closes.
    public mutating func postRejected(_ error: EngineIOError) -> Output {
        close(error.code == .payloadTooLarge ? .transportError : .parseError)
    }

    // MARK: WebSocket

    /// The WebSocket writer asks for frames.
    public mutating func webSocketPull() -> PullResult {
        switch state {
        case .closed:
            return .finish([], closed: nil)
        case .closing(let reason):
            let frames = drainOutbox()
            state = .closed(reason)
            return .finish(frames, closed: reason)
        case .polling, .upgrading:
            return .reject(EngineIOError(.badRequest, "not upgraded"), closed: nil, wake: nil)
        case .websocket:
            if !outbox.isEmpty { return .frames(drainOutbox()) }
            waiter = .webSocket
            return .wait
        }
    }

    /// A packet arrived on the session's WebSocket (after the upgrade, or on a direct one).
    public mutating func webSocketReceived(_ packet: EngineIOPacket, now: Instant) -> Output {
        guard case .websocket = state else { return .none }
        return received(packet, now: now)
    }

    /// `2probe` arrived on a second transport: the upgrade starts. `nil` when the session
    /// cannot upgrade (already upgraded, upgrading or closed); the probe WebSocket then closes.
    public mutating func probeReceived(now: Instant) -> Output? {
        guard case .polling = state, configuration.transports.contains(.websocket) else { return nil }
        state = .upgrading
        upgradeDeadline = now.advanced(by: configuration.upgradeTimeout)
        // Release a pending GET so the client starts its fast-upgrade cycle.
        if waiter == .poll {
            waiter = nil
            return Output(wake: .frames(outbox.isEmpty ? [EngineIOPacket.noop.encodeFrame()] : drainOutbox()))
        }
        return Output.none
    }

    /// `5` arrived on the probe WebSocket: it becomes the transport. A pending GET is
    /// released with `6`; everything still queued goes out on the WebSocket.
    public mutating func upgradeReceived() -> Output? {
        guard case .upgrading = state else { return nil }
        state = .websocket
        upgradeDeadline = nil
        if waiter == .poll {
            waiter = nil
            return Output(wake: .frames([EngineIOPacket.noop.encodeFrame()]))
        }
        return Output.none
    }

    /// The probe WebSocket closed or misbehaved before `5`: stay on polling.
    public mutating func upgradeAborted() {
        guard case .upgrading = state else { return }
        state = .polling
        upgradeDeadline = nil
    }

    // MARK: Shared

    private mutating func received(_ packet: EngineIOPacket, now: Instant) -> Output {
        switch packet.type {
        case .pong:
            if case .awaitingPong = heartbeat {
                heartbeat = .waitingToPing(at: now.advanced(by: configuration.pingInterval))
            }
            return .none
        case .ping:
            // v4 clients do not ping, but answering is harmless and helps debugging tools.
            return send(EngineIOPacket(.pong, packet.data).encodeFrame())
        case .message:
            return Output(messages: [packet.data ?? .text("")])
        case .close:
            return close(.transportClose)
        case .noop:
            return .none
        case .open, .upgrade:
            return close(.parseError)
        }
    }

    /// The layer above confirmed the session (Socket.IO: a namespace connected).
    public mutating func confirmConnected() {
        connectDeadline = nil
    }

    /// Closes the session now. Queued frames are dropped; a waiting GET is answered `6`
    /// when the client caused the close, `1` when the server did.
    public mutating func close(_ reason: EngineIOCloseReason) -> Output {
        switch state {
        case .closed: return .none
        default: break
        }
        state = .closed(reason)
        outbox.removeAll()
        bufferedBytes = 0
        connectDeadline = nil
        upgradeDeadline = nil
        let wake: Wake?
        switch waiter {
        case .poll:
            switch reason {
            case .transportClose, .pingTimeout, .parseError: wake = .finish([EngineIOPacket.noop.encodeFrame()])
            default: wake = .finish([EngineIOPacket.close.encodeFrame()])
            }
        case .webSocket:
            wake = .finish([])
        case nil:
            wake = nil
        }
        waiter = nil
        return Output(wake: wake, closed: reason)
    }

    /// Closes after queued frames are delivered (Socket.IO's server-side disconnect, which
    /// must deliver its DISCONNECT packet first).
    public mutating func closeAfterFlush(_ reason: EngineIOCloseReason) -> Output {
        switch state {
        case .closed, .closing: return .none
        case .polling, .upgrading, .websocket: break
        }
        if outbox.isEmpty { return close(reason) }
        switch waiter {
        case .poll:
            var frames = drainOutbox()
            frames.append(EngineIOPacket.close.encodeFrame())
            waiter = nil
            state = .closed(reason)
            return Output(wake: .finish(frames), closed: reason)
        case .webSocket:
            waiter = nil
            state = .closed(reason)
            return Output(wake: .finish(drainOutbox()), closed: reason)
        case nil:
            state = .closing(reason)
            return .none
        }
    }

    /// Runs whatever is due at `now`: the connect timeout, the upgrade timeout, a ping, or
    /// the ping timeout.
    public mutating func timerFired(now: Instant) -> Output {
        switch state {
        case .closed: return .none
        case .closing(let reason):
            // The client never came back to drain: give up.
            if case .awaitingPong(let deadline) = heartbeat, now >= deadline { return close(reason) }
        case .polling, .upgrading, .websocket: break
        }
        if let connectDeadline, now >= connectDeadline {
            return close(.forcedClose)
        }
        if let upgradeDeadline, now >= upgradeDeadline {
            upgradeAborted()
        }
        switch heartbeat {
        case .waitingToPing(let at):
            guard now >= at else { return .none }
            // A polling client fetches the ping itself, so its allowance runs from when the
            // ping was due (a lazy check never extends it). Over WebSocket the server sends
            // it: a tick that ran late (a starved server) must not eat the client's time to
            // answer, so the allowance runs from now.
            let sentAt: Instant
            if case .websocket = state { sentAt = now } else { sentAt = at }
            let deadline = sentAt.advanced(by: configuration.pingTimeout)
            heartbeat = .awaitingPong(deadline: deadline)
            if now >= deadline { return close(.pingTimeout) }
            if case .closing = state { return .none }
            // The ping goes through the same bounds as any frame (found by the fuzzer).
            return send(EngineIOPacket.ping.encodeFrame())
        case .awaitingPong(let deadline):
            guard now >= deadline else { return .none }
            return close(.pingTimeout)
        }
    }
}
