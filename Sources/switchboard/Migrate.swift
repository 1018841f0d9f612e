import ArgumentParser
import Foundation
import SwitchboardApp
import SwitchboardCore
import SwitchboardStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the database schema up to date (idempotent; uses DIRECT_URL when set).",
        discussion: "Safe to run on every deploy: steps already applied are skipped; concurrent runs wait for each other."
    )

    func run() async throws {
        let configuration = try await loadConfiguration()
        let logger = makeLogger()
        let applied = try await Switchboard.withDatabase(configuration, logger: logger, forMigration: true) { database in
            try await Migrator(database: database).migrate(now: Date().millisecondsSince1970)
        }
        print(
            applied.isEmpty
                ? "The schema is up to date (version \(Migrator.latestVersion))."
                : "Applied migrations \(applied.map(String.init).joined(separator: ", ")); the schema is at version \(Migrator.latestVersion)."
        )
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print queue depths, in-flight and failed jobs, and what the database holds."
    )

    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let configuration = try await loadConfiguration()
        let logger = makeLogger()
        let text = try await Switchboard.withDatabase(configuration, logger: logger) { database in
            let store = SQLStore(database: database)
            let version = try await Migrator(database: database).currentVersion()
            let counts = try await store.counts()
            let (queue, redisState, redisURL) = try await Switchboard.queueStatus(configuration, store: store, logger: logger)
            let dead = try await store.queue.deadJobs(limit: 10)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                struct Redis: Encodable {
                    var state: String
                    var url: String?
                }
                struct Report: Encodable {
                    var schemaVersion: Int
                    var counts: StoreCounts
                    var queue: QueueStats
                    var redis: Redis
                    var deadJobs: [DeadJob]
                }
                let report = Report(
                    schemaVersion: version,
                    counts: counts,
                    queue: queue,
                    redis: Redis(state: redisState, url: redisURL),
                    deadJobs: dead
                )
                return String(decoding: try encoder.encode(report), as: UTF8.self)
            }
            var lines = [
                "schema:        version \(version) of \(Migrator.latestVersion)",
                "queue:         \(queue.ready) ready, \(queue.delayed) delayed, \(queue.inFlight) in flight, \(queue.dead) failed (dead-lettered)",
                "oldest ready:  \(String(format: "%.1f", queue.oldestReadyAgeSeconds)) s",
                "redis:         \(redisState)\(redisURL.map { " (\($0))" } ?? "")",
                "webhooks:      \(counts.webhooksReceived) received, \(counts.webhooksPending) not yet split, \(counts.webhooksFailed) unreadable",
                "inbox:         \(counts.conversations) conversations, \(counts.messages) messages, \(counts.contacts) contacts, \(counts.pages) pages",
                "unhandled:     \(counts.unhandledEvents) events kept but not applied",
            ]
            if let streams = queue.streams {
                lines.append(
                    "job stream:    \(streams.length) entries, \(streams.pending) being worked on, \(streams.lag) not yet read, "
                        + "\(streams.consumers) consumers, \(streams.deadLetters) dead letters"
                )
            }
            for job in dead { lines.append("dead job \(job.id) (\(job.kind), \(job.attempts) attempts): \(job.reason)") }
            return lines.joined(separator: "\n")
        }
        print(text)
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage API tokens.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API token; it is printed once, as the last line, and stored only as a hash."
        )

        @Option(help: "A name to recognise the token by.") var name = "cli"

        func run() async throws {
            let token = APITokens.generate()
            try await withStore { store, _ in
                _ = try await store.createAPIToken(name: name, tokenHash: APITokens.hash(token))
            }
            print("Created API token '\(name)'. Send it as `Authorization: Bearer <token>`; it is not shown again:")
            print(token)
        }
    }
}
