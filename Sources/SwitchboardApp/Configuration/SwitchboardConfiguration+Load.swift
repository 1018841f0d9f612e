import Configuration
import Crypto
public import Foundation
import Messenger
import SMTP
import SwitchboardCore
import SwitchboardServices

extension SwitchboardConfiguration {
    /// The variables Switchboard reads, for `--help` and the README.
    public static let documentedVariables: [(String, String)] = [
        ("DATABASE_URL", "postgresql://… (honours ?sslmode=require) or sqlite:PATH; unset: SQLite in the data directory"),
        ("DIRECT_URL", "non-pooled PostgreSQL URL used by `migrate`; defaults to DATABASE_URL"),
        ("NEXTAUTH_SECRET / SWITCHBOARD_SECRET", "signs sessions, derives the token-encryption key; required in production"),
        ("NEXTAUTH_URL / PUBLIC_URL", "public base URL (sign-in links, the webhook URL shown in settings)"),
        ("REDIS_URL", "redis:// or rediss:// (optional): the Streams queue, Socket.IO across nodes, shared presence; unset: the embedded queue"),
        ("SWITCHBOARD_REDIS_CA_FILE", "PEM of the CA that signed a rediss:// server's certificate (default: the system's roots)"),
        ("SWITCHBOARD_REDIS_PREFIX", "what every Redis key starts with (default switchboard)"),
        ("SWITCHBOARD_NODE_HEARTBEAT_SECONDS", "how often a node tells Redis it is alive; after three silent ones its agents go offline (default 5)"),
        ("WEBHOOK_VERIFY_TOKEN", "token for Meta's verification handshake"),
        ("FACEBOOK_APP_SECRET", "app secret that signs webhook POSTs (X-Hub-Signature-256)"),
        ("FACEBOOK_APP_ID", "our app's id, to tell our echoes from other apps'"),
        ("FACEBOOK_PAGE_ID, FACEBOOK_PAGE_ACCESS_TOKEN", "optional: connect one Page at start (none: demo mode)"),
        ("GRAPH_API_URL, GRAPH_API_VERSION", "default https://graph.facebook.com and v25.0"),
        ("LLM_BASE_URL, LLM_API_KEY, LLM_MODEL", "an OpenAI-compatible chat-completions endpoint for the bot"),
        ("EMAIL_SERVER_HOST, _PORT, _USER, _PASSWORD, EMAIL_FROM", "SMTP for sign-in links (587 STARTTLS, 465 TLS); unset: links go to the console"),
        ("EMAIL_SERVER_TLS, EMAIL_SERVER_CA_FILE", "override the port's TLS mode (starttls, tls, none); trust these CAs (PEM)"),
        ("SWITCHBOARD_TRUST_PROXY", "1: take the client's IP from X-Forwarded-For (sign-in rate limits, audit)"),
        ("HOST, PORT", "where `serve` listens (default 127.0.0.1:3000)"),
        ("SWITCHBOARD_DATA_DIR", "embedded database, generated secret, logs (default ./.switchboard)"),
        ("SWITCHBOARD_ENV / NODE_ENV", "`production` refuses to start without a configured secret"),
        ("SWITCHBOARD_WEBHOOK_MAX_BYTES", "largest webhook body accepted (default 5242880)"),
        ("SWITCHBOARD_WORKER_CONCURRENCY", "parallel jobs per worker process (default 8)"),
        (
            "SWITCHBOARD_WORKER_NICE",
            "nice value of the worker's threads, 0-19, except for bot answers and sends (default 10; 0: no separate threads)"
        ),
        (
            "SWITCHBOARD_ACK_PRESSURE_MS",
            "a webhook acknowledged slower than this makes ingest rest between runs (default 25; 0: ingest never gives way)"
        ),
        ("SWITCHBOARD_BOT_CONCURRENCY", "bot answers in progress per worker process, in their own lane (default 1000)"),
        ("SWITCHBOARD_SEND_CONCURRENCY", "Send API calls in flight per worker process, in their own lane (default 256)"),
        ("SWITCHBOARD_JOB_LEASE_SECONDS", "how long a claimed job is held before another worker may retry it (default 30)"),
        ("SWITCHBOARD_SQLITE_SYNC", "full (default: acknowledged webhooks survive power loss) or normal"),
    ]

    /// Reads the process environment, then `.env.local`, then `.env` (the process wins),
    /// validates every value, and generates a development secret when none is set.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = "."
    ) async throws -> SwitchboardConfiguration {
        let reader = ConfigReader(providers: [
            EnvironmentVariablesProvider(environmentVariables: environment),
            EnvironmentVariablesProvider(environmentVariables: dotEnv(at: directory + "/.env.local")),
            EnvironmentVariablesProvider(environmentVariables: dotEnv(at: directory + "/.env")),
        ])
        return try parse { name in
            let value = reader.string(forKey: ConfigKey(name.lowercased().replacingOccurrences(of: "_", with: ".")))
            return value?.isEmpty == true ? nil : value
        }
    }

    private static func dotEnv(at path: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        return DotEnv.parse(String(decoding: data, as: UTF8.self))
    }

    /// Builds the configuration from a lookup of variable names (the seam the tests use).
    public static func parse(_ lookup: (String) -> String?) throws -> SwitchboardConfiguration {
        func first(_ names: String...) -> String? { names.lazy.compactMap(lookup).first }
        func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
            guard let text = lookup(name) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError(name, "expected a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
            }
            return value
        }

        let environment: Environment = first("SWITCHBOARD_ENV", "NODE_ENV")?.lowercased() == "production" ? .production : .development
        let dataDirectory = lookup("SWITCHBOARD_DATA_DIR") ?? "./.switchboard"
        var secret: Secret?
        if let configured = first("NEXTAUTH_SECRET", "SWITCHBOARD_SECRET") {
            guard configured.utf8.count >= 16 else {
                throw ConfigurationError("NEXTAUTH_SECRET", "is too short to sign sessions: use at least 16 characters (32 random bytes is best)")
            }
            secret = Secret(configured)
        } else if environment == .production {
            throw ConfigurationError(
                "NEXTAUTH_SECRET",
                "is not set. In production Switchboard needs it to sign sessions and encrypt Page tokens; generate one with `openssl rand -base64 32`."
            )
        }
        var configuration = SwitchboardConfiguration(secret: secret ?? Secret(""))
        configuration.environment = environment
        configuration.dataDirectory = dataDirectory
        configuration.host = lookup("HOST") ?? "127.0.0.1"
        configuration.port = try int("PORT", in: 0...65535) ?? 3000
        configuration.database = try databaseLocation(lookup("DATABASE_URL"), direct: lookup("DIRECT_URL"), dataDirectory: dataDirectory)

        if let url = first("NEXTAUTH_URL", "PUBLIC_URL") {
            guard let parts = ConnectionURL(url), ["http", "https"].contains(parts.scheme), parts.host != nil else {
                throw ConfigurationError("NEXTAUTH_URL", "expected an http:// or https:// URL, got '\(url)'")
            }
            configuration.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        if let redis = lookup("REDIS_URL") {
            guard let parts = ConnectionURL(redis), ["redis", "rediss"].contains(parts.scheme), parts.host != nil else {
                throw ConfigurationError("REDIS_URL", "expected redis://[user:password@]host[:port][/db] or rediss://…, got '\(masked(redis))'")
            }
            configuration.redisURL = redis
        }
        if let caFile = lookup("SWITCHBOARD_REDIS_CA_FILE") {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ConfigurationError("SWITCHBOARD_REDIS_CA_FILE", "cannot read '\(caFile)'")
            }
            configuration.redisCAFile = caFile
        }
        if let prefix = lookup("SWITCHBOARD_REDIS_PREFIX") {
            guard !prefix.contains(where: { $0 == " " || $0 == "{" || $0 == "}" }) else {
                throw ConfigurationError("SWITCHBOARD_REDIS_PREFIX", "may not contain spaces or braces, got '\(prefix)'")
            }
            configuration.redisKeyPrefix = prefix
        }
        if let heartbeat = try int("SWITCHBOARD_NODE_HEARTBEAT_SECONDS", in: 1...300) { configuration.nodeHeartbeat = .seconds(heartbeat) }
        configuration.webhookVerifyToken = lookup("WEBHOOK_VERIFY_TOKEN")
        configuration.appSecret = lookup("FACEBOOK_APP_SECRET").map(AppSecret.init)
        configuration.appId = lookup("FACEBOOK_APP_ID")
        configuration.bootstrapPageId = lookup("FACEBOOK_PAGE_ID")
        configuration.bootstrapPageToken = lookup("FACEBOOK_PAGE_ACCESS_TOKEN").map(PageAccessToken.init)
        if (configuration.bootstrapPageId == nil) != (configuration.bootstrapPageToken == nil) {
            throw ConfigurationError(
                configuration.bootstrapPageId == nil ? "FACEBOOK_PAGE_ID" : "FACEBOOK_PAGE_ACCESS_TOKEN",
                "is missing: FACEBOOK_PAGE_ID and FACEBOOK_PAGE_ACCESS_TOKEN go together"
            )
        }
        if let graph = lookup("GRAPH_API_URL") {
            guard let parts = ConnectionURL(graph), ["http", "https"].contains(parts.scheme), parts.host != nil else {
                throw ConfigurationError("GRAPH_API_URL", "expected an http:// or https:// URL, got '\(graph)'")
            }
            configuration.graphAPIURL = graph.hasSuffix("/") ? String(graph.dropLast()) : graph
        }
        if let version = lookup("GRAPH_API_VERSION") {
            guard version.hasPrefix("v"), Double(version.dropFirst()) != nil else {
                throw ConfigurationError("GRAPH_API_VERSION", "expected a version like v25.0, got '\(version)'")
            }
            configuration.graphAPIVersion = version
        }
        configuration.llmBaseURL = lookup("LLM_BASE_URL")
        configuration.llmAPIKey = lookup("LLM_API_KEY").map(Secret.init)
        configuration.llmModel = lookup("LLM_MODEL")
        if lookup("EMAIL_SERVER_HOST") != nil {
            let names = [
                "EMAIL_SERVER_HOST", "EMAIL_SERVER_PORT", "EMAIL_SERVER_USER", "EMAIL_SERVER_PASSWORD", "EMAIL_FROM",
                "EMAIL_SERVER_TLS", "EMAIL_SERVER_CA_FILE", "EMAIL_SERVER_ALLOW_PLAINTEXT_AUTH",
            ]
            var variables = Dictionary(uniqueKeysWithValues: names.compactMap { name in lookup(name).map { (name, $0) } })
            if variables["EMAIL_FROM"] == nil, let user = variables["EMAIL_SERVER_USER"], user.contains("@") { variables["EMAIL_FROM"] = user }
            do {
                configuration.email = try SMTPConfiguration(environment: variables)
            } catch {
                let message = (error as? SMTPError)?.message ?? "\(error)"
                let variable = names.first { message.hasPrefix($0) } ?? "EMAIL_SERVER_HOST"
                throw ConfigurationError(variable, String(message.dropFirst(message.hasPrefix(variable) ? variable.count + 1 : 0)))
            }
        }
        configuration.trustProxy = ["1", "true", "yes"].contains(lookup("SWITCHBOARD_TRUST_PROXY")?.lowercased() ?? "")
        configuration.webhookMaxBytes = try int("SWITCHBOARD_WEBHOOK_MAX_BYTES", in: 1024...(256 * 1024 * 1024)) ?? configuration.webhookMaxBytes
        configuration.workerConcurrency = try int("SWITCHBOARD_WORKER_CONCURRENCY", in: 1...256) ?? configuration.workerConcurrency
        configuration.workerNiceness = try int("SWITCHBOARD_WORKER_NICE", in: 0...19).map(Int32.init) ?? configuration.workerNiceness
        if let milliseconds = try int("SWITCHBOARD_ACK_PRESSURE_MS", in: 0...20_000) {
            configuration.acknowledgementPressure = milliseconds == 0 ? nil : .milliseconds(milliseconds)
        }
        configuration.botConcurrency = try int("SWITCHBOARD_BOT_CONCURRENCY", in: 1...10_000) ?? configuration.botConcurrency
        configuration.sendConcurrency = try int("SWITCHBOARD_SEND_CONCURRENCY", in: 1...10_000) ?? configuration.sendConcurrency
        if let lease = try int("SWITCHBOARD_JOB_LEASE_SECONDS", in: 1...3600) { configuration.jobLease = .seconds(lease) }
        if let timeout = try int("SWITCHBOARD_GRAPH_TIMEOUT_SECONDS", in: 1...300) { configuration.graphTimeout = .seconds(timeout) }
        if let wait = try int("SWITCHBOARD_SEND_ECHO_WAIT_SECONDS", in: 1...3600) { configuration.outbound.echoWait = .seconds(wait) }
        if let rate = try int("SWITCHBOARD_SEND_RATE_PER_PAGE", in: 1...10_000) { configuration.sendRates.standardPerSecond = Double(rate) }
        if let sync = lookup("SWITCHBOARD_SQLITE_SYNC") {
            guard ["full", "normal"].contains(sync.lowercased()) else {
                throw ConfigurationError("SWITCHBOARD_SQLITE_SYNC", "expected full or normal, got '\(sync)'")
            }
            configuration.sqliteFullSync = sync.lowercased() == "full"
        }
        return configuration
    }

    static func databaseLocation(_ url: String?, direct: String?, dataDirectory: String) throws -> DatabaseLocation {
        guard let url else { return .sqlite(path: dataDirectory + "/switchboard.sqlite") }
        if url.hasPrefix("sqlite:") {
            let path = String(url.dropFirst("sqlite:".count)).replacingOccurrences(of: "//", with: "", options: .anchored)
            guard !path.isEmpty else { throw ConfigurationError("DATABASE_URL", "sqlite: needs a file path, e.g. sqlite:./data/switchboard.sqlite") }
            return .sqlite(path: path)
        }
        guard let parts = ConnectionURL(url) else {
            throw ConfigurationError(
                "DATABASE_URL",
                "is not a URL ('\(masked(url))'); expected postgresql://user:password@host:5432/database or sqlite:PATH"
            )
        }
        guard ["postgres", "postgresql"].contains(parts.scheme) else {
            throw ConfigurationError("DATABASE_URL", "the scheme '\(parts.scheme)' is not supported; use postgresql:// or sqlite:")
        }
        guard parts.host?.isEmpty == false else { throw ConfigurationError("DATABASE_URL", "has no host ('\(masked(url))')") }
        guard parts.user?.isEmpty == false else { throw ConfigurationError("DATABASE_URL", "has no user name ('\(masked(url))')") }
        if let direct {
            guard let d = ConnectionURL(direct), ["postgres", "postgresql"].contains(d.scheme), d.host != nil, d.user != nil else {
                throw ConfigurationError("DIRECT_URL", "expected postgresql://user:password@host:5432/database, got '\(masked(direct))'")
            }
        }
        return .postgres(url: url, migrationURL: direct ?? url)
    }

    /// A URL with its password replaced by `****`, safe for logs and status pages.
    public static func masked(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@") else { return url }
        let credentials = url[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "****" + String(url[at...])
    }

    /// In development without a configured secret: reads the one generated on first run
    /// from the data directory, or creates it (0600).
    public mutating func ensureSecret() throws {
        guard secret.value.isEmpty else { return }
        let path = dataDirectory + "/secret"
        if let data = FileManager.default.contents(atPath: path), data.count >= 16 {
            secret = Secret(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        } else {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            let generated = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
            guard FileManager.default.createFile(atPath: path, contents: Data(generated.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ConfigurationError("SWITCHBOARD_DATA_DIR", "cannot write the generated secret to \(path)")
            }
            secret = Secret(generated)
        }
        secretGenerated = true
    }
}
