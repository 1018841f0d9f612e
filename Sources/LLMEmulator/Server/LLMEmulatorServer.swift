import GraphEmulator
public import Hummingbird
public import Logging
internal import NIOCore
public import ServiceLifecycle

/// Builds and runs the LLM emulator's HTTP server.
public enum LLMEmulatorServer {
    /// The emulator's Hummingbird application: `/v1` routes and the `/_emulator` control
    /// routes. `port` 0 takes any free port; `onServerRunning` receives the bound port.
    public static func build(
        emulator: LLMEmulator,
        host: String = "127.0.0.1",
        port: Int = 0,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in },
        logger: Logger? = nil
    ) -> some ApplicationProtocol {
        let router = Router()
        emulator.addRoutes(to: router)
        emulator.addControlRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "llm-emulator"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger ?? emulator.logger
        )
    }

    /// Runs the emulator on a free port for the duration of `body`, which gets the API base
    /// URL (`http://127.0.0.1:PORT/v1`); then shuts it down gracefully (held calls end).
    public static func withRunning<T: Sendable>(
        _ emulator: LLMEmulator,
        host: String = "127.0.0.1",
        _ body: @Sendable (_ baseURL: String) async throws -> T
    ) async throws -> T {
        try await EphemeralServer.run(logger: emulator.logger, build: { build(emulator: emulator, host: host, port: 0, onServerRunning: $0) }) {
            port in
            try await body("http://\(host):\(port)/v1")
        }
    }
}

/// The emulator as a service inside another process (demo mode, `switchboard llm-emulator`).
public struct LLMEmulatorService: Service {
    let emulator: LLMEmulator
    let host: String
    let port: Int
    let onServerRunning: @Sendable (Int) async -> Void

    public init(
        emulator: LLMEmulator,
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
        try await LLMEmulatorServer.build(emulator: emulator, host: host, port: port, onServerRunning: onServerRunning).run()
    }
}
