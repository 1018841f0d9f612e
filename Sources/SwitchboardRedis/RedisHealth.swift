import Foundation

/// Whether Switchboard can use Redis, in the names `GET /api/status`, `switchboard status`,
/// the Test Webhook's Redis line and `GET /api/dev/redis-status` use.
public enum RedisHealth: String, Sendable, Hashable, Codable {
    /// No `REDIS_URL`: the embedded queue and in-process realtime are in use.
    case notConfigured = "not_configured"
    /// Commands get answers.
    case connected
    /// Configured but unreachable (not yet, or any more): webhooks are still stored, each
    /// node's sockets work for that node, and the queue catches up when Redis returns.
    case disconnected
}

/// The answer of `GET /api/dev/redis-status`, the seed contract's three keys.
public struct RedisStatusReport: Sendable, Equatable {
    public var status: RedisHealth
    public var message: String
    /// The Redis URL with any password masked; nil when none is configured.
    public var url: String?

    public init(status: RedisHealth, message: String, url: String?) {
        self.status = status
        self.message = message
        self.url = url
    }

    /// The JSON the seed contract shows, keys in its order (`status`, `message`, `url`),
    /// `url` as `null` when there is none.
    public var json: String {
        func quoted(_ text: String) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
        return #"{"status":\#(quoted(status.rawValue)),"message":\#(quoted(message)),"url":\#(url.map(quoted) ?? "null")}"#
    }

    /// What a node without `REDIS_URL` says.
    public static let notConfigured = RedisStatusReport(
        status: .notConfigured,
        message: "Redis is not configured (no REDIS_URL): the embedded queue and in-process realtime are in use",
        url: nil
    )

    /// The seed contract's sentence for a reachable server.
    public static func connected(url: String) -> RedisStatusReport {
        RedisStatusReport(status: .connected, message: "Redis is running and accessible", url: url)
    }

    /// Unreachable: why, and that nothing is lost meanwhile.
    public static func disconnected(url: String, reason: String?) -> RedisStatusReport {
        RedisStatusReport(
            status: .disconnected,
            message:
                "Redis is not accessible\(reason.map { " (\($0))" } ?? ""); webhooks are still stored and their jobs are dispatched when it returns",
            url: url
        )
    }
}

extension Duration {
    /// The duration in seconds, for `Date` arithmetic.
    var timeInterval: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
