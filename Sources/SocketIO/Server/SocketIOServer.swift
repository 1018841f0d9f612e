public import EngineIO
public import ServiceLifecycle

/// A Socket.IO v5 server (Engine.IO v4 underneath), independent of any HTTP library.
///
/// ```swift
/// let io = SocketIOServer()
/// io.use { socket in
///     guard socket.handshake.auth["token"]?.stringValue == "secret" else {
///         throw SocketIOConnectError("not authorized")
///     }
/// }
/// io.onConnection { socket in
///     socket.join("inbox")
///     socket.on("echo", as: Message.self) { message in message }   // acked with the result
/// }
/// io.to("inbox").emit("updated", ["id": 42])
/// ```
///
/// Bind it to HTTP with `SocketIOHummingbird`, and run it as a `Service`: ``run()`` drives
/// heartbeats and runs every handler as a child task.
public final class SocketIOServer: Service, Sendable {
    public let configuration: SocketIOConfiguration
    /// The Engine.IO layer (sessions, transports).
    public let engine: EngineIOServer
    let core: SocketIOCore

    public init(configuration: SocketIOConfiguration = .init()) {
        self.configuration = configuration
        self.core = SocketIOCore(configuration: configuration)
        self.engine = EngineIOServer(configuration: configuration.engine, handler: core)
        _ = core.namespace("/")
    }

    /// The namespace with this name, created on first use.
    public func of(_ name: String) -> SocketIONamespace { core.namespace(name) }

    /// The main namespace `/`.
    public var mainNamespace: SocketIONamespace { core.namespace("/") }

    /// Adds a middleware to the main namespace.
    public func use(_ middleware: @escaping SocketIONamespace.Middleware) { mainNamespace.use(middleware) }

    /// Adds a connection handler to the main namespace.
    public func onConnection(_ handler: @escaping SocketIONamespace.ConnectionHandler) { mainNamespace.onConnection(handler) }

    /// Targets rooms of the main namespace.
    public func to(_ rooms: String...) -> SocketIOBroadcastOperator { mainNamespace.broadcast.to(rooms) }

    /// Targets the main namespace minus these rooms.
    public func except(_ rooms: String...) -> SocketIOBroadcastOperator { mainNamespace.broadcast.except(rooms) }

    /// Emits to every socket of the main namespace.
    public func emit(_ event: String, _ arguments: SocketIOValue...) { mainNamespace.broadcast.emit(event, arguments: arguments) }

    /// Numbers for health checks, soak tests and debugging.
    public struct Statistics: Sendable, Hashable, Codable {
        public var engineSessions: Int
        public var clients: Int
        public var sockets: Int
        public var pollingClients: Int
        public var webSocketClients: Int
        public var heartbeatEntries: Int
        /// WebSocket connections open (sessions and upgrade probes).
        public var webSocketConnections: Int
        /// Handler jobs queued or running.
        public var jobsInFlight: Int
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        let connected = core.metrics.connected
        return Statistics(
            engineSessions: engine.sessionCount,
            clients: core.clients,
            sockets: core.allNamespaces.reduce(0) { $0 + $1.socketCount },
            pollingClients: connected.polling,
            webSocketClients: connected.websocket,
            heartbeatEntries: engine.timerCount,
            webSocketConnections: engine.activeWebSocketConnections,
            jobsInFlight: core.jobsInFlight
        )
    }

    /// Runs heartbeats and application handlers until cancelled or graceful shutdown, which
    /// closes every session ("server shutting down") and lets disconnect handlers finish.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.engine.run() }
                for await job in core.jobs {
                    group.addTask { await job() }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.engine.closeAll(.serverShuttingDown)
            self.core.finishJobs()
        }
    }
}
