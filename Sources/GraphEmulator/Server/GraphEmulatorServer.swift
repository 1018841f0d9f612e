public import Hummingbird
public import Logging
internal import NIOCore
public import ServiceLifecycle

/// Builds and runs the emulator's HTTP server.
public enum GraphEmulatorServer {
    /// The emulator's Hummingbird application: Graph routes, `/_emulator` control routes,
    /// and the webhook outbox as a service. `port` 0 takes any free port; `onServerRunning`
    /// receives the bound port.
    public static func build(
        emulator: GraphEmulator,
        host: String = "127.0.0.1",
        port: Int = 0,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in },
        logger: Logger? = nil
    ) -> some ApplicationProtocol {
        let router = Router(context: EmulatorRequestContext.self)
        emulator.addControlRoutes(to: router)
        emulator.addGraphRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "graph-emulator"),
            services: [WebhookOutboxService(emulator: emulator)],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger ?? emulator.logger
        )
    }

    /// Runs the emulator on a free port for the duration of `body`, which gets its base URL
    /// (`http://127.0.0.1:PORT`); then shuts it down gracefully (held answers are released).
    public static func withRunning<T: Sendable>(
        _ emulator: GraphEmulator,
        host: String = "127.0.0.1",
        _ body: @Sendable (_ baseURL: String) async throws -> T
    ) async throws -> T {
        try await EphemeralServer.run(logger: emulator.logger, build: { build(emulator: emulator, host: host, port: 0, onServerRunning: $0) }) {
            port in
            try await body("http://\(host):\(port)")
        }
    }
}

/// Posts the emulator's queued webhooks (echo, delivery, read) in order.
public struct WebhookOutboxService: Service {
    let emulator: GraphEmulator

    public init(emulator: GraphEmulator) { self.emulator = emulator }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await emulator.runOutbox()
        }
    }
}

/// The emulator as a service inside another process (demo mode): HTTP server plus outbox.
public struct GraphEmulatorService: Service {
    let emulator: GraphEmulator
    let host: String
    let port: Int
    let onServerRunning: @Sendable (Int) async -> Void

    public init(
        emulator: GraphEmulator,
        host: String = "127.0.0.1",
        port: Int,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.emulator = emulator
        self.host = host
        self.port = port
        self.onServerRunning = onServerRunning
    }

    public func run() async throws {
        let app = GraphEmulatorServer.build(emulator: emulator, host: host, port: port, onServerRunning: onServerRunning)
        try await app.run()
    }
}
