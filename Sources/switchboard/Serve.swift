public import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SwitchboardApp
import SwitchboardCore
import SwitchboardStore

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
    @Option(help: "Demo mode: the Graph emulator's port (default: PORT + 1).") var emulatorPort: Int?
    @Option(help: "Demo mode: seconds between sample customer messages.") var demoInterval: Int = 15

    func run() async throws {
        var configuration = try await loadConfiguration()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        let logger = makeLogger()
        try configuration.ensureSecret()
        let pages = try await Switchboard.withDatabase(configuration, logger: logger) { database in
            try await Migrator(database: database).requireCurrentOrMigrateEmbedded(now: Date().millisecondsSince1970)
            return try await SQLStore(database: database).pages().map(\.id)
        }
        configuration.noteConnectedPages(pages)
        let demo = configuration.demoMode ? DemoMode.prepare(&configuration, emulatorPort: emulatorPort) : nil
        let prepared = configuration
        // Written before the services start (PostgreSQL's pool only runs inside them).
        try await Switchboard.withDatabase(prepared, logger: logger) { database in
            let store = SQLStore(database: database)
            try await Switchboard.connectBootstrapPage(prepared, store: store)
            try await demo?.connectPage(store: store, secret: prepared.secret)
        }
        let switchboard = try await Switchboard.open(configuration, logger: logger)
        let extra = demo?.services(trafficInterval: .seconds(demoInterval)) ?? []
        let app = switchboard.application(role: role, profiles: switchboard.graphProfileSource(), extraServices: role.runsWeb ? extra : [])
        if let demo {
            FileHandle.standardOutput.write(
                Data(
                    """
                    ┌─ DEMO MODE ───────────────────────────────────────────────────────────────
                    │ No Facebook Page is configured, so a built-in Graph emulator plays Meta on port \(demo.emulatorPort)
                    │ and sample customers of "Switchboard Demo Shop" write in every ~\(demoInterval) s.
                    │ The bot answers them (rule-based FAQ, no LLM key) and hands over when asked for a person.
                    │ Sign in:    http://\(configuration.host):\(configuration.port)/sign-in  (no SMTP: the link shows on the page;
                    │             on an empty install the first address to sign in becomes the admin)
                    │ Inbox API:  http://\(configuration.host):\(configuration.port)/api/conversations  (token: switchboard token create)
                    │ Status:     http://\(configuration.host):\(configuration.port)/api/status · /metrics · /readyz
                    │ Go live: set FACEBOOK_APP_SECRET, FACEBOOK_PAGE_ID and FACEBOOK_PAGE_ACCESS_TOKEN.
                    └───────────────────────────────────────────────────────────────────────────

                    """.utf8
                )
            )
        }
        logger.info(
            "switchboard starting",
            metadata: [
                "address": "\(configuration.host):\(configuration.port)", "role": "\(role.rawValue)",
                "database": "\(switchboard.databaseDescription)", "mode": "\(configuration.demoMode ? "demo" : "live")",
            ]
        )
        do {
            try await app.runService()
        } catch {
            await switchboard.database.close()
            throw error
        }
        await switchboard.database.close()
    }
}

extension ServeRole: ExpressibleByArgument {}
