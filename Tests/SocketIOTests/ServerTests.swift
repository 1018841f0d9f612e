import EngineIO
import NIOCore
import SocketIO
import Synchronization
import Testing

/// Drives a whole SocketIOServer through its Engine.IO polling API: no sockets, no HTTP.
struct PollingClient {
    let engine: EngineIOServer
    let sid: String

    init(_ engine: EngineIOServer) async throws {
        self.engine = engine
        let response = await engine.handleHTTP(method: .get, request: .init(query: ["EIO": "4", "transport": "polling"]), body: ByteBuffer())
        let body = String(buffer: response.body)
        #expect(response.status == 200 && body.hasPrefix("0{\"sid\":\""))
        sid = String(body.dropFirst(9).prefix(20))
    }

    var query: [String: String] { ["EIO": "4", "transport": "polling", "sid": sid] }

    func post(_ body: String) async -> EngineIOHTTPResponse {
        await engine.handleHTTP(method: .post, request: .init(query: query), body: ByteBuffer(string: body))
    }

    func get() async -> EngineIOHTTPResponse {
        await engine.handleHTTP(method: .get, request: .init(query: query), body: ByteBuffer())
    }

    /// Polls until `count` packets arrived (each GET blocks until there is something).
    func receive(_ count: Int) async -> [String] {
        var packets: [String] = []
        while packets.count < count {
            let response = await get()
            guard response.status == 200 else { break }
            packets += String(buffer: response.body).split(separator: "\u{1E}").map(String.init).filter { $0 != "2" && $0 != "6" }
        }
        return packets
    }
}

func withServer(_ configure: (SocketIOServer) -> Void, _ body: (SocketIOServer) async throws -> Void) async throws {
    let io = SocketIOServer(configuration: .init(engine: .init(pingInterval: .seconds(60), pingTimeout: .seconds(60))))
    configure(io)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await io.run() }
        try await body(io)
        group.cancelAll()
    }
}

final class Recorder: Sendable {
    let events = Mutex<[String]>([])
    let (stream, continuation) = AsyncStream<String>.makeStream()
    func record(_ event: String) {
        events.withLock { $0.append(event) }
        continuation.yield(event)
    }
    func next() async -> String? {
        var iterator = stream.makeAsyncIterator()
        return await iterator.next()
    }
}

@Suite struct ServerTests {
    @Test func connectEventsAcksAndDisconnect() async throws {
        let recorder = Recorder()
        try await withServer({ io in
            io.onConnection { socket in
                socket.emit("auth", socket.handshake.auth)
                socket.on("echo") { event in event.ack?.send(arguments: event.arguments) }
                socket.on("ask") { _ in
                    let reply = try await socket.emitWithAck("question", "?", timeout: .seconds(30))
                    socket.emit("answer", arguments: reply)
                }
                socket.onDisconnect { reason in recorder.record(reason.rawValue) }
            }
        }) { io in
            let client = try await PollingClient(io.engine)
            #expect(await client.post("40{\"token\":\"t\"}").status == 200)
            let connected = await client.receive(2)
            #expect(connected.first?.hasPrefix("40{\"sid\":\"") == true)
            #expect(connected.last == "42[\"auth\",{\"token\":\"t\"}]")
            #expect(io.statistics.sockets == 1)

            _ = await client.post("421[\"echo\",{\"a\":[1,2]}]")
            #expect(await client.receive(1) == ["431[{\"a\":[1,2]}]"])

            _ = await client.post("42[\"ask\"]")
            #expect(await client.receive(1) == ["420[\"question\",\"?\"]"])
            _ = await client.post("430[\"because\"]")
            #expect(await client.receive(1) == ["42[\"answer\",\"because\"]"])

            _ = await client.post("41")
            #expect(await recorder.next() == "client namespace disconnect")
            #expect(io.statistics.sockets == 0)
            #expect(io.statistics.engineSessions == 1)  // the Engine.IO session stays open
        }
    }

    @Test func middlewareRefusesWithMessageAndData() async throws {
        try await withServer({ io in
            io.use { socket in
                guard socket.handshake.auth["token"] == "good" else { throw SocketIOConnectError("bad token", data: ["retry": false]) }
            }
        }) { io in
            let client = try await PollingClient(io.engine)
            _ = await client.post("40{\"token\":\"bad\"}")
            #expect(await client.receive(1) == ["44{\"message\":\"bad token\",\"data\":{\"retry\":false}}"])
            _ = await client.post("40/nope,")
            #expect(await client.receive(1) == ["44/nope,{\"message\":\"Invalid namespace\"}"])
            _ = await client.post("40{\"token\":\"good\"}")
            #expect(await client.receive(1).first?.hasPrefix("40{\"sid\"") == true)
        }
    }

    @Test func malformedPacketClosesOnlyThatClient() async throws {
        try await withServer({ _ in }) { io in
            let bad = try await PollingClient(io.engine)
            let good = try await PollingClient(io.engine)
            _ = await good.post("40")
            _ = await good.receive(1)
            _ = await bad.post("40")
            _ = await bad.receive(1)
            _ = await bad.post("42{}")
            #expect(await bad.get().status == 400)
            _ = await good.post("42[\"x\"]")
            #expect(io.engine.session(id: good.sid) != nil)
            #expect(io.engine.session(id: bad.sid) == nil)
        }
    }

    @Test func roomsBroadcastWithExclusionAndTypedHandlers() async throws {
        struct Note: Codable, Sendable { var text: String }
        try await withServer({ io in
            io.onConnection { socket in
                socket.join("room")
                socket.on("note", as: Note.self) { note in
                    socket.to("room").emit("note", try SocketIOValue(encoding: note))
                    return Note(text: note.text.uppercased())
                }
            }
        }) { io in
            let a = try await PollingClient(io.engine)
            let b = try await PollingClient(io.engine)
            for client in [a, b] {
                _ = await client.post("40")
                _ = await client.receive(1)
            }
            _ = await a.post("425[\"note\",{\"text\":\"hi\"}]")
            #expect(await a.receive(1) == ["435[{\"text\":\"HI\"}]"])
            #expect(await b.receive(1) == ["42[\"note\",{\"text\":\"hi\"}]"])
            io.to("room").except(a.sidOfSocket(io)).emit("direct", 1)
            #expect(await b.receive(1) == ["42[\"direct\",1]"])
        }
    }
}

extension PollingClient {
    /// The Socket.IO id of this client's socket in the main namespace.
    func sidOfSocket(_ io: SocketIOServer) -> String {
        io.mainNamespace.sockets.first { $0.engineSessionID == sid }?.id ?? ""
    }
}
