import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Messenger
import NIOCore
import SwitchboardCore
import SwitchboardStore

/// `GET /api/stats`: the Status screen's numbers in one answer, limited to the caller's
/// Pages. The screen polls it while it is open; the answer carries an ETag (a hash of the
/// body) and `If-None-Match` with the same one gets a 304 without a body, so an idle inbox
/// costs the browser nothing to re-render.
struct StatsRoutes {
    let store: SQLStore
    let status: StatusReporter
    /// Signed-in people on this process's sockets, by status.
    let presence: @Sendable () async -> (online: Int, away: Int)

    /// How far back `since` may reach (the counts read every message since it).
    static let maxLookback: TimeInterval = 31 * 86_400

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.get("/stats") { request, context in
            let now = store.clock.now()
            let since = try Self.since(request.uri.queryParameters["since"].map(String.init), now: now)
            let inbox = try await store.inboxStats(since: since, visibility: try context.caller.visibility)
            let report = try await status.report(counts: false)
            let (online, away) = await presence()
            let answer = StatsAnswer(
                inbox: inbox,
                agents: .init(online: online, away: away),
                sockets: report.sockets,
                queue: report.queue,
                redis: report.redis,
                database: report.database
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = try encoder.encode(answer)
            let etag = "\"" + Hex.lowercase(SHA256.hash(data: body).prefix(12)) + "\""
            var headers: HTTPFields = [.eTag: etag, .cacheControl: "no-cache, private"]
            if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Array(body))))
        }
    }

    /// `since` as ISO-8601 (the start of the viewer's day); default: midnight UTC today.
    static func since(_ raw: String?, now: Date) throws -> Date {
        guard let raw, !raw.isEmpty else {
            return Date(millisecondsSince1970: now.millisecondsSince1970 / 86_400_000 * 86_400_000)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: raw) ?? ISO8601DateFormatter().date(from: raw),
            date <= now, now.timeIntervalSince(date) <= maxLookback
        else {
            throw APIError(.badRequest, "invalid_argument", "since must be an ISO-8601 time in the last 31 days (e.g. 2026-11-25T00:00:00Z).")
        }
        return date
    }
}

/// What `GET /api/stats` answers: the inbox numbers at the top level, and live state.
struct StatsAnswer: Encodable {
    struct Agents: Encodable {
        var online: Int
        var away: Int
    }

    var inbox: InboxStats
    var agents: Agents
    var sockets: Int
    var queue: QueueStats?
    var redis: StatusReport.Redis
    var database: StatusReport.Database

    enum CodingKeys: String, CodingKey { case agents, sockets, queue, redis, database }

    func encode(to encoder: any Encoder) throws {
        try inbox.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(agents, forKey: .agents)
        try container.encode(sockets, forKey: .sockets)
        try container.encode(queue, forKey: .queue)
        try container.encode(redis, forKey: .redis)
        try container.encode(database, forKey: .database)
    }
}
