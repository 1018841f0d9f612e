import EngineIO
import NIOCore
import Synchronization
import Testing

/// Echoes messages; records closes.
final class EchoHandler: EngineIOHandler {
    let closes = Mutex<[EngineIOCloseReason]>([])
    func engineIOSessionDidOpen(_ session: EngineIOSession) {}
    func engineIOSession(_ session: EngineIOSession, didReceive message: EngineIOData) { session.send(message) }
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {
        closes.withLock { $0.append(reason) }
    }
}

/// A WebSocket without a socket, run the way the NIO binding runs one: a task plays the
/// event loop and handles, in order, what the test sends and what the session delivers
/// through the sink. Frames reach the test as text ("b:<n>" for binary); the stream ends
/// when the socket closes.
final class FakeWebSocket: EngineIOWebSocketSink {
    enum Event: Sendable {
        case inbound(EngineIOData)
        case delivered([EngineIOFrame], finish: Bool)
        case clientClosed
    }

    let events: AsyncStream<Event>.Continuation
    private let stream: AsyncStream<Event>

    init() {
        (stream, events) = AsyncStream<Event>.makeStream()
    }

    func engineIODeliver(_ frames: [EngineIOFrame], finish: Bool) {
        events.yield(.delivered(frames, finish: finish))
    }

    /// The socket's life: open, then events until it closes.
    func run(_ engine: EngineIOServer, query: [String: String], outbound: AsyncStream<String>.Continuation) async {
        defer { outbound.finish() }
        guard case (var connection, let greeting)? = engine.openWebSocket(request: .init(query: query), sink: self) else { return }
        defer { connection.socketClosed() }
        func write(_ frames: [EngineIOFrame]) {
            for frame in frames {
                switch frame {
                case .text(let buffer): outbound.yield(String(buffer: buffer))
                case .binary(let buffer): outbound.yield("b:\(buffer.readableBytes)")
                }
            }
        }
        /// Pulls until the session has nothing more; false once the socket must close.
        func pull() -> Bool {
            while true {
                switch connection.pull() {
                case .frames(let frames): write(frames)
                case .wait: return true
                case .finish(let frames):
                    write(frames)
                    return false
                }
            }
        }
        write(greeting)
        if connection.isPulling, !pull() { return }
        for await event in stream {
            switch event {
            case .inbound(let data):
                let reaction =
                    switch data {
                    case .text(let text): connection.received(textFrame: ByteBuffer(string: text))
                    case .binary(let bytes): connection.received(binaryFrame: bytes)
                    }
                switch reaction {
                case .none: break
                case .write(let frames): write(frames)
                case .startPulling: if !pull() { return }
                case .close: return
                }
            case .delivered(let frames, let finish):
                write(frames)
                if finish || !pull() { return }
            case .clientClosed:
                return
            }
        }
    }
}

struct FakeSocket {
    let socket: FakeWebSocket
    var outbound: AsyncStream<String>.AsyncIterator
    func send(_ data: EngineIOData) { socket.events.yield(.inbound(data)) }
    func close() { socket.events.yield(.clientClosed) }
    mutating func next() async -> String? { await outbound.next() }
}

func serve(_ engine: EngineIOServer, query: [String: String], in group: inout TaskGroup<Void>) -> FakeSocket {
    let socket = FakeWebSocket()
    let (outbound, outboundContinuation) = AsyncStream<String>.makeStream()
    group.addTask { await socket.run(engine, query: query, outbound: outboundContinuation) }
    return FakeSocket(socket: socket, outbound: outbound.makeAsyncIterator())
}

@Suite struct ServerRuntimeTests {
    let configuration = EngineIOConfiguration(pingInterval: .seconds(60), pingTimeout: .seconds(60))

    @Test func webSocketSessionEchoesAndClosesOnClosePacket() async throws {
        let handler = EchoHandler()
        let engine = EngineIOServer(configuration: configuration, handler: handler)
        await withTaskGroup(of: Void.self) { group in
            var socket = serve(engine, query: ["EIO": "4", "transport": "websocket"], in: &group)
            let open = await socket.next()
            #expect(open?.hasPrefix("0{\"sid\":") == true)
            #expect(open?.contains("\"upgrades\":[]") == true)
            socket.send(.text("4hello"))
            #expect(await socket.next() == "4hello")
            socket.send(.binary(ByteBuffer(bytes: [1, 2, 3])))
            #expect(await socket.next() == "b:3")
            socket.send(.text("1"))
            #expect(await socket.next() == nil)  // the handler returned: the socket closes
        }
        #expect(handler.closes.withLock { $0 } == [.transportClose])
        #expect(engine.sessionCount == 0)
    }

    @Test func malformedFrameClosesWithParseError() async throws {
        let handler = EchoHandler()
        let engine = EngineIOServer(configuration: configuration, handler: handler)
        await withTaskGroup(of: Void.self) { group in
            var socket = serve(engine, query: ["EIO": "4", "transport": "websocket"], in: &group)
            _ = await socket.next()
            socket.send(.text("abc"))
            #expect(await socket.next() == nil)
        }
        #expect(handler.closes.withLock { $0 } == [.parseError])
    }

    @Test func pollingUpgradesToWebSocketWithoutLosingPackets() async throws {
        let handler = EchoHandler()
        let engine = EngineIOServer(configuration: configuration, handler: handler)
        let handshake = await engine.handleHTTP(method: .get, request: .init(query: ["EIO": "4", "transport": "polling"]), body: ByteBuffer())
        let sid = String(String(buffer: handshake.body).dropFirst(9).prefix(20))
        let query = ["EIO": "4", "transport": "polling", "sid": sid]
        await withTaskGroup(of: Void.self) { group in
            var socket = serve(engine, query: ["EIO": "4", "transport": "websocket", "sid": sid], in: &group)
            socket.send(.text("2probe"))
            #expect(await socket.next() == "3probe")
            // Echoed while upgrading: travels by polling.
            _ = await engine.handleHTTP(method: .post, request: .init(query: query), body: ByteBuffer(string: "4a"))
            #expect(String(buffer: await engine.handleHTTP(method: .get, request: .init(query: query), body: ByteBuffer()).body) == "4a")
            _ = await engine.handleHTTP(method: .post, request: .init(query: query), body: ByteBuffer(string: "4b"))
            socket.send(.text("5"))
            // Queued before the switch, delivered after it on the WebSocket.
            #expect(await socket.next() == "4b")
            socket.send(.text("4c"))
            #expect(await socket.next() == "4c")
            #expect(await engine.handleHTTP(method: .get, request: .init(query: query), body: ByteBuffer()).status == 400)
            socket.close()
            #expect(await socket.next() == nil)
        }
        #expect(handler.closes.withLock { $0 } == [.transportClose])
    }

    @Test func heartbeatLoopClosesSilentSessions() async throws {
        let handler = EchoHandler()
        let engine = EngineIOServer(
            configuration: EngineIOConfiguration(pingInterval: .milliseconds(20), pingTimeout: .seconds(6)),
            handler: handler,
            tick: .milliseconds(5)
        )
        // A generous timeout: under load a pong must never miss it; the silent case just waits it out.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            var socket = serve(engine, query: ["EIO": "4", "transport": "websocket"], in: &group)
            _ = await socket.next()
            #expect(await socket.next() == "2")
            socket.send(.text("3"))
            #expect(await socket.next() == "2")
            // No pong this time: the loop closes the session and the socket ends.
            #expect(await socket.next() == nil)
            group.cancelAll()
        }
        #expect(handler.closes.withLock { $0 } == [.pingTimeout])
        #expect(engine.sessionCount == 0)
    }
}

/// Records what the session hands its WebSocket.
final class RecordingSink: EngineIOWebSocketSink {
    struct Delivery: Equatable {
        var frames: [String]
        var finish: Bool
    }
    let deliveries = Mutex<[Delivery]>([])

    func engineIODeliver(_ frames: [EngineIOFrame], finish: Bool) {
        let texts = frames.map { frame -> String in
            guard case .text(let buffer) = frame else { return "binary" }
            return String(buffer: buffer)
        }
        deliveries.withLock { $0.append(Delivery(frames: texts, finish: finish)) }
    }

    var recorded: [Delivery] { deliveries.withLock { $0 } }
}

@Suite struct WebSocketSinkTests {
    let configuration = EngineIOConfiguration(pingInterval: .seconds(60), pingTimeout: .seconds(60))
    let direct = ["EIO": "4", "transport": "websocket"]

    @Test func aBurstOfSendsCostsOneDeliveryThenOnePull() throws {
        let engine = EngineIOServer(configuration: configuration, handler: EchoHandler())
        let sink = RecordingSink()
        let connection = try #require(engine.openWebSocket(request: .init(query: direct), sink: sink)).connection
        #expect(connection.isPulling)
        #expect(connection.pull() == .wait)
        for text in ["a", "b", "c"] { connection.session.send(.text(text)) }
        // The first send ends the wait; the rest wait in the session for the socket's next pull.
        #expect(sink.recorded == [.init(frames: ["4a"], finish: false)])
        #expect(connection.pull() == .frames([text("4b"), text("4c")]))
        #expect(connection.pull() == .wait)
        connection.session.close()
        #expect(sink.recorded.last == .init(frames: [], finish: true))
    }

    @Test func aCloseReachesASocketThatWasNotWaiting() throws {
        let handler = EchoHandler()
        let engine = EngineIOServer(configuration: configuration, handler: handler)
        let sink = RecordingSink()
        var connection = try #require(engine.openWebSocket(request: .init(query: direct), sink: sink)).connection
        connection.session.send(.text("x"))
        // The socket is busy (it has not pulled): a slow-client close must still reach it.
        connection.session.close(.slowClient)
        #expect(sink.recorded == [.init(frames: [], finish: true)])
        #expect(connection.pull() == .finish([]))
        connection.socketClosed()
        #expect(handler.closes.withLock { $0 } == [.slowClient])
        #expect(engine.activeWebSocketConnections == 0)
    }

    @Test func oneProbeAtATimeAndAnAbandonedProbeFreesTheSession() async throws {
        let engine = EngineIOServer(configuration: configuration, handler: EchoHandler())
        let handshake = await engine.handleHTTP(method: .get, request: .init(query: ["EIO": "4", "transport": "polling"]), body: ByteBuffer())
        let sid = String(String(buffer: handshake.body).dropFirst(9).prefix(20))
        let probeQuery = ["EIO": "4", "transport": "websocket", "sid": sid]
        var first = try #require(engine.openWebSocket(request: .init(query: probeQuery), sink: RecordingSink())).connection
        #expect(!first.isPulling)
        #expect(engine.openWebSocket(request: .init(query: probeQuery), sink: RecordingSink()) == nil)
        first.socketClosed()
        #expect(engine.session(id: sid)?.transport == .polling)
        #expect(engine.openWebSocket(request: .init(query: probeQuery), sink: RecordingSink()) != nil)
    }

    @Test func aProbeHearsOfThePollingSessionClosing() async throws {
        let engine = EngineIOServer(configuration: configuration, handler: EchoHandler())
        let handshake = await engine.handleHTTP(method: .get, request: .init(query: ["EIO": "4", "transport": "polling"]), body: ByteBuffer())
        let sid = String(String(buffer: handshake.body).dropFirst(9).prefix(20))
        let sink = RecordingSink()
        var probe = try #require(engine.openWebSocket(request: .init(query: ["EIO": "4", "transport": "websocket", "sid": sid]), sink: sink))
            .connection
        #expect(probe.received(textFrame: ByteBuffer(string: "2probe")) == .write([text("3probe")]))
        _ = await engine.handleHTTP(
            method: .post,
            request: .init(query: ["EIO": "4", "transport": "polling", "sid": sid]),
            body: ByteBuffer(string: "1")
        )
        #expect(sink.recorded == [.init(frames: [], finish: true)])
        #expect(probe.received(textFrame: ByteBuffer(string: "5")) == .close)
    }
}
