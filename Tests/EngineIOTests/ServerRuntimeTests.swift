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

/// A WebSocket writer that hands frames to the test as text ("b:<n>" for binary).
struct StreamWriter: EngineIOWebSocketWriter {
    let continuation: AsyncStream<String>.Continuation
    func write(_ frames: [EngineIOFrame]) async throws {
        for frame in frames {
            switch frame {
            case .text(let buffer): continuation.yield(String(buffer: buffer))
            case .binary(let buffer): continuation.yield("b:\(buffer.readableBytes)")
            }
        }
    }
}

struct FakeSocket {
    let inbound: AsyncStream<EngineIOData>.Continuation
    var outbound: AsyncStream<String>.AsyncIterator
    mutating func next() async -> String? { await outbound.next() }
}

func serve(_ engine: EngineIOServer, query: [String: String], in group: inout TaskGroup<Void>) -> FakeSocket {
    let (inbound, inboundContinuation) = AsyncStream<EngineIOData>.makeStream()
    let (outbound, outboundContinuation) = AsyncStream<String>.makeStream()
    group.addTask {
        await engine.serveWebSocket(request: .init(query: query), inbound: inbound, writer: StreamWriter(continuation: outboundContinuation))
        outboundContinuation.finish()
    }
    return FakeSocket(inbound: inboundContinuation, outbound: outbound.makeAsyncIterator())
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
            socket.inbound.yield(.text("4hello"))
            #expect(await socket.next() == "4hello")
            socket.inbound.yield(.binary(ByteBuffer(bytes: [1, 2, 3])))
            #expect(await socket.next() == "b:3")
            socket.inbound.yield(.text("1"))
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
            socket.inbound.yield(.text("abc"))
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
            socket.inbound.yield(.text("2probe"))
            #expect(await socket.next() == "3probe")
            // Echoed while upgrading: travels by polling.
            _ = await engine.handleHTTP(method: .post, request: .init(query: query), body: ByteBuffer(string: "4a"))
            #expect(String(buffer: await engine.handleHTTP(method: .get, request: .init(query: query), body: ByteBuffer()).body) == "4a")
            _ = await engine.handleHTTP(method: .post, request: .init(query: query), body: ByteBuffer(string: "4b"))
            socket.inbound.yield(.text("5"))
            // Queued before the switch, delivered after it on the WebSocket.
            #expect(await socket.next() == "4b")
            socket.inbound.yield(.text("4c"))
            #expect(await socket.next() == "4c")
            #expect(await engine.handleHTTP(method: .get, request: .init(query: query), body: ByteBuffer()).status == 400)
            socket.inbound.finish()
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
            socket.inbound.yield(.text("3"))
            #expect(await socket.next() == "2")
            // No pong this time: the loop closes the session and the socket ends.
            #expect(await socket.next() == nil)
            group.cancelAll()
        }
        #expect(handler.closes.withLock { $0 } == [.pingTimeout])
        #expect(engine.sessionCount == 0)
    }
}
