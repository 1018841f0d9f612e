public import NIOCore

/// Takes a session's outbound frames for one WebSocket; the HTTP binding implements it.
///
/// The session calls it from any thread, outside its lock: once after each `.wait` that
/// ``EngineIOWebSocketConnection/pull()`` returned (with the frames that ended the wait), and
/// once with `finish` when the session closes. An implementation hops to the socket's own
/// thread, writes the frames in order and, while the socket takes more, pulls again: so a
/// burst of sends costs one hop and one flush, and a slow socket leaves frames in the
/// session, where the buffer bounds apply.
public protocol EngineIOWebSocketSink: AnyObject, Sendable {
    /// Write `frames`; then close the socket when `finish`, else pull again.
    func engineIODeliver(_ frames: [EngineIOFrame], finish: Bool)
}

/// The Engine.IO side of one WebSocket: a new session, or the probe and upgrade of a
/// polling one. The binding calls it on the socket's own thread, in order:
/// ``received(textFrame:)`` or ``received(binaryFrame:)`` for each message, ``pull()`` for
/// frames to write, ``socketClosed()`` once at the end.
public struct EngineIOWebSocketConnection: Sendable {
    /// What the socket must do after a message.
    public enum Reaction: Sendable, Hashable {
        case none
        /// Write these frames now (the probe's answer); not part of the session's outbox.
        case write([EngineIOFrame])
        /// The upgrade completed: start pulling the session's frames.
        case startPulling
        /// Close the socket.
        case close
    }

    /// The result of a pull.
    public enum Pull: Sendable, Hashable {
        /// Write these, then pull again while the socket takes more.
        case frames([EngineIOFrame])
        /// Nothing now: the sink gets the next frames.
        case wait
        /// Write these, then close the socket.
        case finish([EngineIOFrame])
    }

    enum Phase: Sendable, Hashable {
        case probing(probed: Bool)
        case open
        case closed
    }

    public let session: EngineIOSession
    private let sink: any EngineIOWebSocketSink
    private(set) var phase: Phase

    init(session: EngineIOSession, sink: any EngineIOWebSocketSink, probing: Bool) {
        self.session = session
        self.sink = sink
        self.phase = probing ? .probing(probed: false) : .open
    }

    /// Whether the session's frames flow over this socket (not while probing).
    public var isPulling: Bool { phase == .open }

    /// A text message arrived (its bytes: invalid UTF-8 is a parse error).
    public mutating func received(textFrame: ByteBuffer) -> Reaction {
        guard let packet = try? EngineIOPacket.decode(textFrame: textFrame) else {
            if phase == .open { session.close(.parseError) }
            return .close
        }
        return received(packet)
    }

    /// A binary message arrived: a `message` packet carrying the bytes.
    public mutating func received(binaryFrame: ByteBuffer) -> Reaction {
        received(EngineIOPacket.decode(binaryFrame: binaryFrame))
    }

    private mutating func received(_ packet: EngineIOPacket) -> Reaction {
        let now = session.server.clock.now
        switch phase {
        case .open:
            session.apply { $0.webSocketReceived(packet, now: now) }
            return session.isClosed ? .close : .none
        case .probing(let probed):
            // `2probe`, answered `3probe`, then `5`; anything else ends the probe.
            if !probed, packet.type == .ping, packet.data == .text("probe") {
                guard session.probe(now: now) else { return .close }
                phase = .probing(probed: true)
                return .write([EngineIOPacket(.pong, .text("probe")).encodeFrame()])
            }
            if probed, packet.type == .upgrade {
                guard session.upgrade() else { return .close }
                phase = .open
                session.server.handler.engineIOSessionDidUpgrade(session)
                return .startPulling
            }
            return probed && packet.type == .noop ? .none : .close
        case .closed:
            return .close
        }
    }

    /// Takes the session's queued frames (only once ``isPulling``).
    public func pull() -> Pull {
        switch session.pullWebSocket() {
        case .frames(let frames): .frames(frames)
        case .wait: .wait
        case .finish(let frames, _): .finish(frames)
        case .reject: .finish([])
        }
    }

    /// The socket closed (either side): the session closes, or a probe is abandoned.
    public mutating func socketClosed() {
        switch phase {
        case .open: session.close(.transportClose)
        case .probing: session.upgradeAborted(sink)
        case .closed: return
        }
        phase = .closed
        session.server.webSocketClosed()
    }
}
