public import ArgumentParser
import Hummingbird
import Foundation
import Logging
import SwitchboardApp

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: webhook, REST API, dashboard and workers.",
        discussion: """
            --role web serves HTTP only, --role worker runs the job workers only, --role all (default) both.
            The embedded SQLite database migrates itself; PostgreSQL must be migrated first with `switchboard migrate`.
            SIGTERM or SIGINT stops gracefully: requests and running jobs finish, unfinished jobs go back to the queue.
            """
    )

    @Option(help: "Address to listen on (default: HOST or 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (default: PORT or 3000; 0 picks a free one).") var port: Int?
    @Option(help: "Which services to run: web, worker or all.") var role: ServeRole = .all

    func run() async throws {
        var configuration = try await loadConfiguration()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        let logger = makeLogger()
        let switchboard = try await Switchboard.open(configuration, logger: logger)
        try await switchboard.connectBootstrapPage()
        let app = switchboard.application(role: role, profiles: switchboard.graphProfileSource())
        logger.info(
            "switchboard starting",
            metadata: [
                "address": "\(configuration.host):\(configuration.port)", "role": "\(role.rawValue)",
                "database": "\(switchboard.databaseDescription)", "mode": "\(configuration.demoMode ? "demo" : "live")",
            ]
        )
        try await app.runService()
    }
}

extension ServeRole: ExpressibleByArgument {}
