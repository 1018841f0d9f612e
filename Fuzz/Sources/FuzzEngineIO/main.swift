// libFuzzer entry for the Engine.IO codecs and session state machine.
// Build: swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library --product FuzzEngineIO
import EngineIO
import FuzzDriver
import NIOCore

struct FuzzInstant: InstantProtocol, Sendable, Hashable, Comparable {
    var offset: Duration
    func advanced(by duration: Duration) -> FuzzInstant { FuzzInstant(offset: offset + duration) }
    func duration(to other: FuzzInstant) -> Duration { other.offset - offset }
    static func < (lhs: FuzzInstant, rhs: FuzzInstant) -> Bool { lhs.offset < rhs.offset }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngineIO(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let buffer = ByteBuffer(bytes: bytes)

    // The parsers: a polling body and a text frame.
    let packets = (try? EngineIOPayload.decode(buffer, maxPayload: 1 << 20)) ?? []
    if let packet = try? EngineIOPacket.decode(textFrame: buffer) {
        // Whatever decodes must encode back to the same frame.
        let frame = packet.encodeFrame()
        if case .text(let encoded) = frame, packet.data != nil || buffer.readableBytes == 1 {
            precondition(encoded == buffer, "text frame did not round-trip")
        }
    }

    // The state machine, driven by the input bytes as events.
    let configuration = EngineIOConfiguration(
        pingInterval: .milliseconds(300),
        pingTimeout: .milliseconds(200),
        maxPayload: 1_000,
        connectTimeout: .milliseconds(900),
        upgradeTimeout: .milliseconds(400),
        maxBufferedBytes: 200,
        maxBufferedPackets: 8
    )
    var now = FuzzInstant(offset: .zero)
    var machine = EngineIOSessionStateMachine(
        configuration: configuration,
        transport: bytes.first.map { $0 & 1 == 0 ? .polling : .websocket } ?? .polling,
        now: now
    )
    var closedReports = 0
    for byte in bytes.dropFirst() {
        now = now.advanced(by: .milliseconds(Int(byte >> 4) * 25))
        let output: EngineIOSessionStateMachine<FuzzInstant>.Output
        switch byte & 0x0F {
        case 0: output = machine.send(.text(ByteBuffer(string: "4x")))
        case 1:
            switch machine.pollRequested(now: now) {
            case .reject(_, let closed, _), .finish(_, let closed): output = .init(closed: closed)
            default: output = .none
            }
        case 2:
            machine.waiterCancelled()
            output = .none
        case 3: output = machine.postReceived(packets, now: now)
        case 4: output = machine.postReceived([.pong], now: now)
        case 5:
            switch machine.webSocketPull() {
            case .finish(_, let closed): output = .init(closed: closed)
            default: output = .none
            }
        case 6: output = machine.webSocketReceived(packets.first ?? .pong, now: now)
        case 7: output = machine.probeReceived(now: now) ?? .none
        case 8: output = machine.upgradeReceived() ?? .none
        case 9:
            machine.upgradeAborted()
            output = .none
        case 10: output = machine.timerFired(now: now)
        case 11: output = machine.closeAfterFlush(.forcedClose)
        case 12: output = machine.close(.transportClose)
        case 13:
            machine.confirmConnected()
            output = .none
        case 14: output = machine.postRejected(EngineIOError(.invalidPacket))
        default: output = machine.send(.binary(ByteBuffer(bytes: [byte])))
        }
        if output.closed != nil { closedReports += 1 }
        precondition(machine.bufferedFrames <= configuration.maxBufferedPackets, "outbox past its bound")
    }
    precondition(closedReports <= 1, "close reported \(closedReports) times")
    return 0
}

// SwiftPM aliases `main` to `FuzzEngineIO_main`: hand the process to libFuzzer.
@_cdecl("FuzzEngineIO_main")
public func fuzzEngineIOMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzzEngineIO(data, size) }
}
