import Foundation
import SMTP
import Testing

@testable import SwitchboardApp

@Suite("Configuration")
struct ConfigurationTests {
    func parse(_ values: [String: String]) throws -> SwitchboardConfiguration {
        try SwitchboardConfiguration.parse { values[$0] }
    }

    @Test("defaults: embedded SQLite, demo mode, localhost:3000")
    func defaults() throws {
        let configuration = try parse([:])
        #expect(configuration.database == .sqlite(path: "./.switchboard/switchboard.sqlite"))
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 3000)
        #expect(configuration.demoMode)
        #expect(configuration.graphAPIVersion == "v25.0")
        #expect(configuration.workerNiceness == 10)
        #expect(try parse(["SWITCHBOARD_WORKER_NICE": "0"]).workerNiceness == 0)
        #expect(configuration.acknowledgementPressure == .milliseconds(25))
        #expect(try parse(["SWITCHBOARD_ACK_PRESSURE_MS": "250"]).acknowledgementPressure == .milliseconds(250))
        #expect(try parse(["SWITCHBOARD_ACK_PRESSURE_MS": "0"]).acknowledgementPressure == nil)
    }

    @Test("the seed contract's names and aliases")
    func names() throws {
        let configuration = try parse([
            "DATABASE_URL": "postgresql://app:p%40ss@db.internal:6543/inbox?sslmode=require",
            "DIRECT_URL": "postgres://app:pw@db.internal:5432/inbox",
            "NEXTAUTH_SECRET": "0123456789abcdef0123", "NEXTAUTH_URL": "https://inbox.example.com/",
            "REDIS_URL": "rediss://user:pw@cache:6380/2", "FACEBOOK_PAGE_ID": "1", "FACEBOOK_PAGE_ACCESS_TOKEN": "tok",
            "EMAIL_SERVER_HOST": "smtp.example.com", "EMAIL_SERVER_PORT": "465", "EMAIL_FROM": "inbox@example.com",
        ])
        #expect(
            configuration.database
                == .postgres(
                    url: "postgresql://app:p%40ss@db.internal:6543/inbox?sslmode=require",
                    migrationURL: "postgres://app:pw@db.internal:5432/inbox"
                )
        )
        #expect(configuration.publicURL == "https://inbox.example.com")
        #expect(configuration.secret.value == "0123456789abcdef0123")
        #expect("\(configuration.secret)" == "<redacted>")
        #expect(!configuration.demoMode)
        #expect(configuration.email?.port == 465)
        #expect(try parse(["SWITCHBOARD_SECRET": "fedcba9876543210fedc", "PUBLIC_URL": "http://x:3000"]).publicURL == "http://x:3000")
        #expect(try parse(["DATABASE_URL": "sqlite:/var/lib/sb.sqlite"]).database == .sqlite(path: "/var/lib/sb.sqlite"))
    }

    @Test("Redis: the URL, a CA, a key prefix and the node heartbeat")
    func redis() throws {
        let defaults = try parse([:])
        #expect(defaults.redisURL == nil && defaults.redisKeyPrefix == "switchboard" && defaults.nodeHeartbeat == .seconds(5))
        let ca = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID().uuidString).pem").path
        #expect(FileManager.default.createFile(atPath: ca, contents: Data("-----BEGIN CERTIFICATE-----\n".utf8)))
        defer { try? FileManager.default.removeItem(atPath: ca) }
        let configuration = try parse([
            "REDIS_URL": "rediss://:pw@cache:6380/1", "SWITCHBOARD_REDIS_CA_FILE": ca, "SWITCHBOARD_REDIS_PREFIX": "inbox-eu",
            "SWITCHBOARD_NODE_HEARTBEAT_SECONDS": "2",
        ])
        #expect(configuration.redisURL == "rediss://:pw@cache:6380/1")
        #expect(configuration.redisCAFile == ca && configuration.redisKeyPrefix == "inbox-eu" && configuration.nodeHeartbeat == .seconds(2))
    }

    @Test(
        "a bad value names its variable",
        arguments: [
            (["DATABASE_URL": "mysql://u:p@h/db"], "DATABASE_URL"),
            (["DATABASE_URL": "not a url"], "DATABASE_URL"),
            (["DATABASE_URL": "postgresql://host-without-user/db"], "DATABASE_URL"),
            (["DATABASE_URL": "postgresql://u:p@h:99999/db"], "DATABASE_URL"),
            (["PORT": "eighty"], "PORT"),
            (["REDIS_URL": "http://cache"], "REDIS_URL"),
            (["SWITCHBOARD_REDIS_CA_FILE": "/no/such/ca.pem"], "SWITCHBOARD_REDIS_CA_FILE"),
            (["SWITCHBOARD_REDIS_PREFIX": "sb {1}"], "SWITCHBOARD_REDIS_PREFIX"),
            (["SWITCHBOARD_NODE_HEARTBEAT_SECONDS": "0"], "SWITCHBOARD_NODE_HEARTBEAT_SECONDS"),
            (["NEXTAUTH_URL": "inbox.example.com"], "NEXTAUTH_URL"),
            (["NEXTAUTH_SECRET": "short"], "NEXTAUTH_SECRET"),
            (["SWITCHBOARD_ENV": "production"], "NEXTAUTH_SECRET"),
            (["NODE_ENV": "production"], "NEXTAUTH_SECRET"),
            (["FACEBOOK_PAGE_ID": "1"], "FACEBOOK_PAGE_ACCESS_TOKEN"),
            (["GRAPH_API_VERSION": "25"], "GRAPH_API_VERSION"),
            (["SWITCHBOARD_SQLITE_SYNC": "sometimes"], "SWITCHBOARD_SQLITE_SYNC"),
            (["SWITCHBOARD_WORKER_NICE": "20"], "SWITCHBOARD_WORKER_NICE"),
            (["SWITCHBOARD_WORKER_NICE": "-5"], "SWITCHBOARD_WORKER_NICE"),
            (["SWITCHBOARD_ACK_PRESSURE_MS": "soon"], "SWITCHBOARD_ACK_PRESSURE_MS"),
            (["EMAIL_SERVER_HOST": "smtp"], "EMAIL_FROM"),
        ]
    )
    func badValues(values: [String: String], variable: String) throws {
        #expect { try parse(values) } throws: { ($0 as? ConfigurationError)?.variable == variable }
    }

    @Test("passwords never appear in error messages or masked URLs")
    func masking() throws {
        #expect(SwitchboardConfiguration.masked("redis://:s3cret@h:6379") == "redis://:****@h:6379")
        #expect(SwitchboardConfiguration.masked("postgresql://u:s3cret@h/db") == "postgresql://u:****@h/db")
        #expect(SwitchboardConfiguration.masked("redis://h:6379") == "redis://h:6379")
        do {
            _ = try parse(["REDIS_URL": "http://u:s3cret@h"])
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("s3cret"))
        }
    }

    @Test(".env files: quotes, export, comments; the process environment wins")
    func dotEnv() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbenv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
        # the Node stack's file
        DATABASE_URL="postgresql://username:password@localhost:5432/facebook_bot_db"
        export NEXTAUTH_SECRET='a secret with spaces 123'
        WEBHOOK_VERIFY_TOKEN=from-local # trailing comment
        PORT=4000
        """.write(to: directory.appendingPathComponent(".env.local"), atomically: true, encoding: .utf8)
        try "WEBHOOK_VERIFY_TOKEN=from-env-file\nHOST=0.0.0.0\n".write(
            to: directory.appendingPathComponent(".env"),
            atomically: true,
            encoding: .utf8
        )
        let configuration = try await SwitchboardConfiguration.load(environment: ["PORT": "5000"], directory: directory.path)
        #expect(
            configuration.database
                == .postgres(
                    url: "postgresql://username:password@localhost:5432/facebook_bot_db",
                    migrationURL: "postgresql://username:password@localhost:5432/facebook_bot_db"
                )
        )
        #expect(configuration.secret.value == "a secret with spaces 123")
        #expect(configuration.webhookVerifyToken == "from-local")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 5000)
    }
}
