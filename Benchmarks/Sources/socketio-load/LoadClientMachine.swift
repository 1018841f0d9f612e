/// What every client of a run does, shared by all of them.
struct LoadScript: Sendable {
    var reader: SocketIOFrameReader
    /// The CONNECT packet's auth payload (a JSON object).
    var auth: String
    /// Emitted with an ack once connected (e.g. `["join","fan"]`); the client is ready when acked.
    var join: PayloadTemplate?
    /// `$ROOM` of client i is `rooms[i % rooms.count]`.
    var rooms: [String]
    /// The event whose delivery latency is recorded, and where its timestamp is.
    var probe: LatencyProbe?
    /// Emitted with an ack in a closed loop by every client during the run (round trips).
    var echo: PayloadTemplate?

    func room(of client: Int) -> String { rooms.isEmpty ? "" : rooms[client % rooms.count] }
}

/// One client's Engine.IO / Socket.IO conversation as a value: it reads server frames and
/// says what to send and what happened; the channel handler does the I/O and the timing.
struct LoadClientMachine {
    enum Phase: Equatable {
        case opening
        case connecting
        case joining(ackID: Int)
        case ready
        case ended
    }

    /// What a frame meant.
    enum Signal: Equatable {
        case ready
        case failed(String)
        /// A probed event arrived, sent at this wall-clock time (ms); nil when its payload had no timestamp.
        case delivery(sentAt: Double?)
        case otherEvent
        case acked(id: Int)
        case pinged
    }

    struct Step: Equatable {
        var send: String?
        var signal: Signal?
    }

    let script: LoadScript
    let client: Int
    private(set) var phase = Phase.opening
    private var nextAckID = 0
    private var sequence = 0

    init(script: LoadScript, client: Int) {
        self.script = script
        self.client = client
    }

    /// One text frame from the server.
    mutating func received(_ bytes: UnsafeRawBufferPointer) -> Step {
        let packet = script.reader.read(bytes)
        switch (packet, phase) {
        case (.ping, _):
            return Step(send: "3", signal: .pinged)
        case (.open, .opening):
            phase = .connecting
            return Step(send: "40" + prefix + script.auth)
        case (.connect, .connecting):
            guard let join = script.join else {
                phase = .ready
                return Step(signal: .ready)
            }
            let (text, id) = emit(join, ack: true, now: 0)
            phase = .joining(ackID: id!)
            return Step(send: text)
        case (.connectError(let reason), _):
            phase = .ended
            return Step(signal: .failed("connect_error " + reason))
        case (.ack(let id), .joining(let joinID)) where id == joinID:
            phase = .ready
            return Step(signal: .ready)
        case (.ack(let id), .ready):
            return Step(signal: .acked(id: id))
        case (.event(let data), .ready):
            guard let probe = script.probe, probe.matches(bytes, data: data) else { return Step(signal: .otherEvent) }
            return Step(signal: .delivery(sentAt: probe.timestamp(bytes, data: data)))
        case (.close, _), (.disconnect, _):
            let wasReady = phase == .ready
            phase = .ended
            // Once ready, the run counts closed clients itself (inactive channels).
            return Step(signal: wasReady ? nil : .failed("closed by the server before ready"))
        default:
            return Step()
        }
    }

    /// An EVENT packet from `template` (with an ack id when `ack`), and that id.
    mutating func emit(_ template: PayloadTemplate, ack: Bool, now: Double) -> (String, Int?) {
        sequence += 1
        let data = template.fill(now: now, sequence: sequence, room: script.room(of: client), client: client)
        guard ack else { return ("42" + prefix + data, nil) }
        let id = nextAckID
        nextAckID += 1
        return ("42" + prefix + String(id) + data, id)
    }

    private var prefix: String { String(decoding: script.reader.namespacePrefix, as: UTF8.self) }
}
