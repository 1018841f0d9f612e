import EngineIO
import HummingbirdCore
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import SocketIOHummingbird

/// Echoes messages; records closes.
final class EchoHandler: EngineIOHandler {
    let closes = Mutex<[EngineIOCloseReason]>([])
    func engineIOSessionDidOpen(_ session: EngineIOSession) {}
    func engineIOSession(_ session: EngineIOSession, didReceive message: EngineIOData) { session.send(message) }
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {
        closes.withLock { $0.append(reason) }
    }
    var recorded: [EngineIOCloseReason] { closes.withLock { $0 } }
}

/// One frame the server wrote.
struct ServerFrame: Equatable, CustomStringConvertible {
    var opcode: UInt8
    var payload: [UInt8]

    static func text(_ text: String) -> Self { .init(opcode: 0x1, payload: Array(text.utf8)) }
    static func close(_ code: UInt16) -> Self { .init(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xFF)]) }

    var description: String { opcode == 0x1 ? "text \(String(decoding: payload, as: UTF8.self))" : "op \(opcode) \(payload)" }
}

/// An upgraded Engine.IO WebSocket on an `EmbeddedChannel`, driven byte by byte.
struct UpgradedSocket {
    let channel: EmbeddedChannel
    /// Outbound buffers per read: how many writes each batch took.
    private(set) var writes = 0

    /// Sends the HTTP upgrade through ``EngineIOHTTPChannel`` and checks the 101 answer.
    init(engine: EngineIOServer, target: String = "/engine.io/?EIO=4&transport=websocket") throws {
        channel = EmbeddedChannel()
        let http = EngineIOHTTPChannel(
            responder: { _, _, _ in },
            endpoint: EngineIOEndpoint(path: "/engine.io/", engine: engine),
            configuration: .init()
        )
        _ = try http.setup(channel: channel, logger: Logger(label: "test")).wait()
        let request = """
            GET \(target) HTTP/1.1\r
            Host: localhost\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Cookie: a=1\r
            Cookie: b=2\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            \r

            """
        try channel.writeInbound(ByteBuffer(string: request))
        channel.embeddedEventLoop.run()
        let response = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let head = String(buffer: response)
        try #require(head.hasPrefix("HTTP/1.1 101"))
        // RFC 6455's own example key and answer.
        #expect(head.lowercased().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="))
    }

    /// A client frame, masked with a zero key (so the payload reads as is).
    func send(opcode: UInt8 = 0x1, _ payload: [UInt8], fin: Bool = true) throws {
        var frame = ByteBuffer(bytes: [(fin ? 0x80 : 0) | opcode])
        if payload.count < 126 {
            frame.writeInteger(UInt8(0x80 | payload.count))
        } else {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(payload.count))
        }
        frame.writeBytes([0, 0, 0, 0])
        frame.writeBytes(payload)
        try channel.writeInbound(frame)
        channel.embeddedEventLoop.run()
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Changes writability the way a real channel does: with the event.
    func setWritable(_ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    /// Runs what is queued on the loop, then reads every frame written since the last read.
    mutating func frames() throws -> [ServerFrame] {
        channel.embeddedEventLoop.run()
        var bytes = ByteBuffer()
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            writes += 1
            bytes.writeBuffer(&buffer)
        }
        var frames: [ServerFrame] = []
        while let first = bytes.readInteger(as: UInt8.self), var length = bytes.readInteger(as: UInt8.self).map(Int.init) {
            if length == 126 { length = Int(bytes.readInteger(as: UInt16.self)!) }
            frames.append(ServerFrame(opcode: first & 0x0F, payload: bytes.readBytes(length: length)!))
        }
        return frames
    }
}

/// An engine with one WebSocket session, its OPEN packet already read.
struct OpenSocket {
    let handler = EchoHandler()
    let engine: EngineIOServer
    var socket: UpgradedSocket
    let session: EngineIOSession

    init(_ configuration: EngineIOConfiguration) throws {
        engine = EngineIOServer(configuration: configuration, handler: handler)
        socket = try UpgradedSocket(engine: engine)
        let open = try socket.frames()
        #expect(open.count == 1 && String(decoding: open[0].payload, as: UTF8.self).hasPrefix("0{\"sid\":"))
        session = try #require(engine.allSessions.first)
    }
}

@Suite struct WebSocketTransportTests {
    let configuration = EngineIOConfiguration(pingInterval: .seconds(60), pingTimeout: .seconds(60), maxPayload: 100)

    @Test func aNewSessionGetsItsOpenPacketThenEchoes() throws {
        var open = try OpenSocket(configuration)
        #expect(open.session.request.headers["cookie"] == "a=1; b=2")
        try open.socket.send("4hello")
        #expect(try open.socket.frames() == [.text("4hello")])
        try open.socket.send(opcode: 0x2, [1, 2, 3])
        #expect(try open.socket.frames() == [ServerFrame(opcode: 0x2, payload: [1, 2, 3])])
        try open.socket.send("1")
        #expect(try open.socket.frames() == [.close(1000)])
        #expect(!open.socket.channel.isActive)
        #expect(open.handler.recorded == [.transportClose])
        #expect(open.engine.activeWebSocketConnections == 0)
    }

    @Test func aBurstOfSendsLeavesInOneWrite() throws {
        var open = try OpenSocket(configuration)
        let before = open.socket.writes
        for text in ["a", "b", "c"] { open.session.send(.text(text)) }
        #expect(try open.socket.frames() == [.text("4a"), .text("4b"), .text("4c")])
        #expect(open.socket.writes - before == 1)
    }

    @Test func anUnwritableSocketLeavesItsBacklogInTheSessionUntilTheBound() throws {
        var open = try OpenSocket(EngineIOConfiguration(pingInterval: .seconds(60), pingTimeout: .seconds(60), maxBufferedPackets: 3))
        open.session.send(.text("first"))  // ends the socket's wait
        open.socket.setWritable(false)
        _ = try open.socket.frames()
        for text in ["a", "b", "c"] { open.session.send(.text(text)) }
        #expect(try open.socket.frames() == [])
        #expect(open.session.bufferedFrames == 3)
        open.socket.setWritable(true)
        #expect(try open.socket.frames() == [.text("4a"), .text("4b"), .text("4c")])
        // Unwritable again: "d" ends the wait and goes out, the next four pass the bound of 3.
        open.socket.setWritable(false)
        for text in ["d", "e", "f", "g", "h"] { open.session.send(.text(text)) }
        #expect(try open.socket.frames() == [.text("4d"), .close(1000)])
        #expect(open.handler.recorded == [.slowClient])
    }

    @Test func controlFramesAndHalfClosure() throws {
        var open = try OpenSocket(configuration)
        try open.socket.send(opcode: 0x9, [7])
        #expect(try open.socket.frames() == [ServerFrame(opcode: 0xA, payload: [7])])
        open.socket.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try open.socket.frames() == [.close(1000)])
        #expect(open.handler.recorded == [.transportClose])
    }

    @Test func aClientCloseFrameIsAnsweredWithItsCode() throws {
        var open = try OpenSocket(configuration)
        try open.socket.send(opcode: 0x8, [0x03, 0xE9])  // 1001, going away
        #expect(try open.socket.frames() == [.close(1001)])
        #expect(open.handler.recorded == [.transportClose])
    }

    @Test func fragmentsAreJoinedAndOversizedMessagesRefused() throws {
        var open = try OpenSocket(configuration)
        try open.socket.send(opcode: 0x1, Array("4he".utf8), fin: false)
        try open.socket.send(opcode: 0x0, Array("llo".utf8))
        #expect(try open.socket.frames() == [.text("4hello")])
        // Larger than max(maxPayload, 16 KiB) across fragments: 1009, message too big.
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 10_000)
        try open.socket.send(opcode: 0x1, [UInt8(ascii: "4")] + chunk, fin: false)
        try open.socket.send(opcode: 0x0, chunk)
        #expect(try open.socket.frames() == [.close(1009)])
        #expect(open.handler.recorded == [.transportClose])
    }

    @Test func invalidUTF8IsAParseError() throws {
        var open = try OpenSocket(configuration)
        try open.socket.send([UInt8(ascii: "4"), 0xFF, 0xFE])
        #expect(try open.socket.frames() == [.close(1000)])
        #expect(open.handler.recorded == [.parseError])
    }

    @Test func aServerCloseSendsACloseFrameAfterQueuedFrames() throws {
        var open = try OpenSocket(configuration)
        open.session.send(.text("bye"))
        open.session.closeAfterFlush()
        #expect(try open.socket.frames() == [.text("4bye"), .close(1000)])
        #expect(!open.socket.channel.isActive)
        #expect(open.handler.recorded == [.forcedClose])
    }

    @Test func aServerShutdownClosesTheSession() throws {
        var open = try OpenSocket(configuration)
        open.socket.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try open.socket.frames() == [.close(1000)])
        #expect(open.handler.recorded == [.serverShuttingDown])
    }

    @Test(arguments: [
        ("/engine.io/?EIO=4&transport=websocket&sid=unknown", "13", EngineIOError.Code.unknownSession),
        ("/engine.io/?EIO=3&transport=websocket", "13", .unsupportedProtocolVersion),
        ("/elsewhere/?EIO=4&transport=websocket", "13", .badRequest),
        ("/engine.io/?EIO=4&transport=websocket", "8", .badRequest),
    ])
    func aRefusedUpgradeKeepsItsReason(target: String, version: String, code: EngineIOError.Code) throws {
        let engine = EngineIOServer(configuration: configuration, handler: EchoHandler())
        let channel = EmbeddedChannel()
        let upgrader = EngineIOWebSocketUpgrader(
            endpoint: EngineIOEndpoint(path: "/engine.io/", engine: engine),
            deliveries: EngineIODeliveryQueues(),
            eventLoop: channel.eventLoop
        )
        let head = HTTPRequestHead(
            version: .http1_1,
            method: .GET,
            uri: target,
            headers: ["Upgrade": "websocket", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": version]
        )
        let response = upgrader.buildUpgradeResponse(channel: channel, upgradeRequest: head, initialResponseHeaders: [:])
        #expect(throws: (any Error).self) { try response.wait() }
        #expect(upgrader.refusal.value?.code == code)
    }
}
