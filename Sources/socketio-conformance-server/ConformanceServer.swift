import ArgumentParser
import EngineIO
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SocketIO
import SocketIOHummingbird
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The configuration the public Engine.IO and Socket.IO protocol test suites expect, and a
/// standalone example of wiring `SocketIOServer` into Hummingbird.
@main
struct ConformanceServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "socketio-conformance-server")

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(name: .customLong("sio-port"), help: "Port of the Socket.IO server (path /socket.io/).") var sioPort = 3000
    @Option(name: .customLong("eio-port"), help: "Port of the Engine.IO echo server (path /engine.io/).") var eioPort = 3001
    @Option(name: .customLong("ping-interval"), help: "Ping interval in ms.") var pingInterval = 300
    @Option(name: .customLong("ping-timeout"), help: "Ping timeout in ms.") var pingTimeout = 200
    @Option(name: .customLong("connect-timeout"), help: "Time a client has to connect a namespace, in ms.") var connectTimeout = 1_000
    @Flag(help: "Enable connection-state recovery (the CONNECT reply then carries a pid).") var recovery = false
    @Flag(name: .customLong("test-hooks"), help: "Add the /test namespace used by the interop tests.") var testHooks = false
    @Option(
        name: .customLong("event-loops"),
        help: "Event-loop threads (default: NIO's shared group, one per core); 1 suits a server pinned to one core."
    ) var eventLoops: Int?
    @Flag(
        name: .customLong("break-websocket"),
        help: "Advertise the WebSocket upgrade but refuse it (tests the client's fallback to polling)."
    ) var breakWebSocket = false

    func run() async throws {
        var logger = Logger(label: "socketio-conformance-server")
        logger.logLevel = .warning

        let engineConfiguration = EngineIOConfiguration(
            pingInterval: .milliseconds(pingInterval),
            pingTimeout: .milliseconds(pingTimeout),
            maxPayload: 1_000_000,
            connectTimeout: .milliseconds(connectTimeout)
        )
        let io = SocketIOServer(
            configuration: .init(
                engine: engineConfiguration,
                connectionStateRecovery: recovery ? .init() : nil,
                logger: logger
            )
        )
        Self.installConformanceHandlers(io)
        if testHooks { TestHooks.install(on: io) }

        let eventLoopGroup: EventLoopGroupProvider = eventLoops.map { .shared(MultiThreadedEventLoopGroup(numberOfThreads: $0)) } ?? .singleton
        let router = Router()
        router.addSocketIO(io, cors: .allowAll)
        router.get("/debug/stats") { _, _ -> Response in
            let s = io.statistics
            let json =
                "{\"engineSessions\":\(s.engineSessions),\"clients\":\(s.clients),\"sockets\":\(s.sockets),\"pollingClients\":\(s.pollingClients),\"webSocketClients\":\(s.webSocketClients),\"heartbeatEntries\":\(s.heartbeatEntries),\"webSocketConnections\":\(s.webSocketConnections),\"jobsInFlight\":\(s.jobsInFlight)}"
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        let sioApp = Application(
            router: router,
            server: breakWebSocket ? .http1() : .http1SocketIO(io),
            configuration: .init(address: .hostname(host, port: sioPort), serverName: "socket.io"),
            services: [io],
            onServerRunning: { channel in
                print("socket.io server listening on \(channel.localAddress?.description ?? "?") path /socket.io/")
                flushStandardOutput()
            },
            eventLoopGroupProvider: eventLoopGroup,
            logger: logger
        )

        var echoConfiguration = engineConfiguration
        echoConfiguration.connectTimeout = nil
        let engine = EngineIOServer(configuration: echoConfiguration, handler: EchoHandler())
        let engineRouter = Router()
        engineRouter.addEngineIO(engine, cors: .allowAll)
        let eioApp = Application(
            router: engineRouter,
            server: .http1EngineIO(engine),
            configuration: .init(address: .hostname(host, port: eioPort), serverName: "engine.io"),
            services: [EngineIOService(engine: engine)],
            onServerRunning: { channel in
                print("engine.io server listening on \(channel.localAddress?.description ?? "?") path /engine.io/")
                flushStandardOutput()
            },
            eventLoopGroupProvider: eventLoopGroup,
            logger: logger
        )

        let group = ServiceGroup(
            configuration: .init(services: [sioApp, eioApp], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    /// `/`: emit `auth` with the handshake auth; echo `message` as `message-back`; ack
    /// `message-with-ack` with its arguments. `/custom`: emit `auth`.
    static func installConformanceHandlers(_ io: SocketIOServer) {
        io.onConnection { socket in
            socket.emit("auth", socket.handshake.auth)
            socket.on("message") { event in
                socket.emit("message-back", arguments: event.arguments)
            }
            socket.on("message-with-ack") { event in
                event.ack?.send(arguments: event.arguments)
            }
        }
        io.of("/custom").onConnection { socket in
            socket.emit("auth", socket.handshake.auth)
        }
    }
}

/// Echoes every Engine.IO message back unchanged.
struct EchoHandler: EngineIOHandler {
    func engineIOSessionDidOpen(_ session: EngineIOSession) {}
    func engineIOSession(_ session: EngineIOSession, didReceive message: EngineIOData) { session.send(message) }
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {}
}

/// Runs a bare Engine.IO server's heartbeat as a Service.
struct EngineIOService: Service {
    let engine: EngineIOServer
    func run() async throws {
        await cancelWhenGracefulShutdown { await engine.run() }
    }
}

/// Ready lines must reach a pipe at once (scripts wait for them).
func flushStandardOutput() {
    #if canImport(Glibc)
    fflush(nil)
    #endif
}
