import Configuration
import Foundation
public import Messenger
public import SMTP
public import SwitchboardServices

/// Everything Switchboard reads from its environment, read once at start-up into typed
/// values (names from the seed contract, plus Switchboard's own). A bad value stops
/// start-up with a ``ConfigurationError`` naming the variable.
public struct SwitchboardConfiguration: Sendable {
    /// Where the state lives.
    public enum DatabaseLocation: Sendable, Equatable {
        /// The embedded default: a SQLite file.
        case sqlite(path: String)
        /// `postgres://…`; `migrationURL` is `DIRECT_URL` when set.
        case postgres(url: String, migrationURL: String)
    }

    public enum Environment: String, Sendable { case development, production }

    public var host = "127.0.0.1"
    public var port = 3000
    public var environment = Environment.development
    public var dataDirectory = "./.switchboard"
    public var database = DatabaseLocation.sqlite(path: "./.switchboard/switchboard.sqlite")
    /// Signs sessions and derives the token-encryption key (`NEXTAUTH_SECRET`).
    public var secret: Secret
    /// True when the secret was generated into the data directory (development only).
    public var secretGenerated = false
    /// Public base URL (`NEXTAUTH_URL` / `PUBLIC_URL`).
    public var publicURL: String?
    /// Redis for the Streams queue and the realtime cluster (`REDIS_URL`); nil: embedded.
    public var redisURL: String?
    /// PEM of the CA that signed a `rediss://` server's certificate (`SWITCHBOARD_REDIS_CA_FILE`).
    public var redisCAFile: String?
    /// What every Redis key starts with (`SWITCHBOARD_REDIS_PREFIX`, default `switchboard`).
    public var redisKeyPrefix = "switchboard"
    /// How often a node writes its heartbeat; silent for three, it counts as dead and its
    /// agents go offline (`SWITCHBOARD_NODE_HEARTBEAT_SECONDS`, default 5).
    public var nodeHeartbeat: Duration = .seconds(5)
    public var webhookVerifyToken: String?
    public var appSecret: AppSecret?
    public var appId: String?
    public var bootstrapPageId: String?
    public var bootstrapPageToken: PageAccessToken?
    public var graphAPIURL = "https://graph.facebook.com"
    public var graphAPIVersion = "v25.0"
    /// Deadline of one Graph call (`SWITCHBOARD_GRAPH_TIMEOUT_SECONDS`, default 20).
    public var graphTimeout: Duration = .seconds(20)
    /// How outbound sends retry and wait for echoes (`SWITCHBOARD_SEND_ECHO_WAIT_SECONDS`).
    public var outbound = OutboundSenderConfiguration()
    /// Per-Page send rates (300/s text, 10/s audio and video by default).
    public var sendRates = PageRateLimiter<ContinuousClock>.Configuration()
    public var llmBaseURL: String?
    public var llmAPIKey: Secret?
    public var llmModel: String?
    /// SMTP for sign-in mail (`EMAIL_*`); `nil`: links are printed to the console.
    public var email: SMTPConfiguration?
    /// Take the client's address from `X-Forwarded-For` (behind a reverse proxy).
    public var trustProxy = false
    /// Largest webhook body accepted (`SWITCHBOARD_WEBHOOK_MAX_BYTES`, default 5 MiB).
    public var webhookMaxBytes = 5 * 1024 * 1024
    /// Parallel jobs per worker process (`SWITCHBOARD_WORKER_CONCURRENCY`).
    public var workerConcurrency = 8
    /// The nice value of the worker's threads (`SWITCHBOARD_WORKER_NICE`, 0–19; 0: the
    /// worker shares the process's threads). Above zero, a busy CPU goes to acknowledging
    /// webhooks first and applying them waits (``BackgroundExecutor``).
    public var workerNiceness: Int32 = 10
    /// An acknowledgement slower than this puts the worker's ingest runs under
    /// ``AcknowledgementPressure`` for five seconds and until their rests are none
    /// (`SWITCHBOARD_ACK_PRESSURE_MS`; nil: the worker never gives way, not even to webhooks
    /// arriving).
    public var acknowledgementPressure: Duration? = .milliseconds(25)
    /// Bot answers in progress per worker process (`SWITCHBOARD_BOT_CONCURRENCY`): their
    /// own lane, since each waits on a model for a while (docs/bot.md).
    public var botConcurrency = 1000
    /// Send API calls in flight per worker process (`SWITCHBOARD_SEND_CONCURRENCY`): their
    /// own lane, since each waits on Meta. At Meta's 300 sends/s per Page and a few hundred
    /// milliseconds per call, one busy Page alone keeps about a hundred in flight.
    public var sendConcurrency = 256
    /// How long a claimed job stays ours before another worker may take it over.
    public var jobLease: Duration = .seconds(30)
    /// SQLite sync level (`SWITCHBOARD_SQLITE_SYNC`: `full` or `normal`).
    public var sqliteFullSync = true
    /// Demo mode: no Page configured, so the emulator plays Meta in-process.
    public var demoMode: Bool { bootstrapPageId == nil && !hasConnectedPages }
    /// Set after reading the database: Pages connected through the API count too.
    public var hasConnectedPages = false

    public init(secret: Secret) {
        self.secret = secret
    }
}

/// A secret configuration value: its description never shows it.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// A configuration value that cannot be used, named so the operator can fix it.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var variable: String
    public var problem: String

    public init(_ variable: String, _ problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "\(variable): \(problem)" }
}
