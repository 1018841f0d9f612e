import ArgumentParser
import Foundation
import Logging
import SwitchboardApp
import SwitchboardCore
import SwitchboardStore

@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A real-time Facebook Messenger inbox: webhooks in, agents and a bot out, live in the browser.",
        discussion: """
            Configuration comes from the environment, then .env.local, then .env (the environment wins):
            \(SwitchboardConfiguration.documentedVariables.map { "  \($0.0)\n      \($0.1)" }.joined(separator: "\n"))

            With no DATABASE_URL, state lives in SQLite under SWITCHBOARD_DATA_DIR. With no Page configured,
            `serve` runs in demo mode: a built-in Graph emulator plays Meta and sample customers write in.
            """,
        version: SwitchboardVersion.current,
        subcommands: [Serve.self, Migrate.self, Seed.self, Status.self, Token.self, UserCommand.self, Emulator.self, LLMEmulatorCommand.self],
        defaultSubcommand: Serve.self
    )
}

/// Reads the configuration once, turning a bad value into a clear message and exit code.
func loadConfiguration() async throws -> SwitchboardConfiguration {
    do {
        return try await SwitchboardConfiguration.load()
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("switchboard: configuration error: \(error)\n".utf8))
        throw ExitCode(78)
    }
}

/// Runs `body` with the store of the configured database (the embedded one migrated).
func withStore<T: Sendable>(_ body: @Sendable (SQLStore, SwitchboardConfiguration) async throws -> T) async throws -> T {
    let configuration = try await loadConfiguration()
    return try await Switchboard.withDatabase(configuration, logger: makeLogger()) { database in
        try await Migrator(database: database).requireCurrentOrMigrateEmbedded(now: Date().millisecondsSince1970)
        return try await body(SQLStore(database: database), configuration)
    }
}

/// A logger printing to stderr at `LOG_LEVEL` (default info), bootstrapped once.
func makeLogger(_ label: String = "switchboard") -> Logger {
    LoggingBootstrap.once()
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    return logger
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    static func once() {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { DeferredMetadataLogHandler(StreamLogHandler.standardError(label: $0)) }
    }
}
