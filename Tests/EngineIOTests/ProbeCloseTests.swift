import NIOCore
import Synchronization
import Testing

@testable import EngineIO

@Suite struct ProbeCloseTests {
    @Test func aCloseReachesBothThePendingPollAndTheProbe() async throws {
        let engine = EngineIOServer(
            configuration: EngineIOConfiguration(pingInterval: .seconds(60), pingTimeout: .seconds(60)),
            handler: EchoHandler()
        )
        let handshake = await engine.handleHTTP(method: .get, request: .init(query: ["EIO": "4", "transport": "polling"]), body: ByteBuffer())
        let sid = String(String(buffer: handshake.body).dropFirst(9).prefix(20))
        let session = try #require(engine.session(id: sid))
        let polling = EngineIORequest(query: ["EIO": "4", "transport": "polling", "sid": sid])
        let sink = RecordingSink()
        _ = try #require(engine.openWebSocket(request: .init(query: ["EIO": "4", "transport": "websocket", "sid": sid]), sink: sink))
        async let pending = engine.handleHTTP(method: .get, request: polling, body: ByteBuffer())
        // The close must find the GET waiting: wait for the session to hold it.
        while session.locked.withLock({ $0.pollWaiter == nil }) { await Task.yield() }
        session.close(.forcedClose)
        #expect(String(buffer: await pending.body) == "1")
        #expect(sink.recorded == [.init(frames: [], finish: true)])
    }
}
