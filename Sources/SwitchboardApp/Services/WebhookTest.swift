import AsyncHTTPClient
import Foundation
import Logging
import Messenger
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardRedis
import SwitchboardStore

/// Bot Settings' "Test Webhook" (seed contract): one line per check, each with ✅/❌ and the
/// reason, run for real: the database and Redis as `GET /api/status` sees them, a signed
/// synthetic event POSTed to our own public URL and seen applied (then removed, so no fake
/// conversation stays), the Page's token against Graph's `/me`, and our app's subscription
/// to the fields we need. A check that cannot run says why; nothing is guessed.
struct WebhookTest: Sendable {
    struct Check: Codable, Sendable, Equatable {
        /// `database`, `redis`, `webhook`, `facebook_token`, `facebook_subscription`.
        var name: String
        var ok: Bool
        var detail: String
    }

    struct Report: Codable, Sendable, Equatable {
        var ok: Bool
        /// The headline: all green reads "✅ Webhook test successful! Redis connected." (or,
        /// without Redis, that the embedded queue is in use); otherwise what failed.
        var summary: String
        var checks: [Check]
    }

    /// The fields Meta must send us (README, "Going live").
    static let requiredFields = [
        "messages", "messaging_postbacks", "message_deliveries", "message_reads", "message_echoes", "message_reactions", "standby",
        "messaging_handovers",
    ]

    let store: SQLStore
    let status: StatusReporter
    let graph: GraphClient
    let box: SecretBox
    let publicURL: String
    let appSecret: AppSecret?
    let appId: String?
    /// How long the round trip may take from the POST to the applied message.
    var processingTimeout: Duration = .seconds(15)
    /// How long one check waits for what it asks (the database, our URL, Graph).
    var checkTimeout: Duration = .seconds(10)
    let logger: Logger

    func run(pageId: String) async -> Report {
        async let database = databaseCheck()
        async let roundTrip = roundTripCheck(pageId: pageId)
        async let facebook = facebookChecks(pageId: pageId)
        // Read once: the check and the headline must tell the same story.
        let redis = status.redisStatus()
        let checks = [await database, Self.redisCheck(redis), await roundTrip] + (await facebook)
        let ok = checks.allSatisfy(\.ok)
        let summary: String
        if ok {
            summary =
                redis.state == .connected
                ? "✅ Webhook test successful! Redis connected." : "✅ Webhook test successful! Embedded queue in use (no Redis configured)."
        } else {
            summary = "❌ Webhook test failed: " + checks.filter { !$0.ok }.map { Self.label($0.name) }.joined(separator: ", ") + "."
        }
        logger.info("webhook test", metadata: ["page": "\(pageId)", "ok": "\(ok)", "failed": "\(checks.filter { !$0.ok }.map(\.name))"])
        return Report(ok: ok, summary: summary, checks: checks)
    }

    static func label(_ name: String) -> String {
        switch name {
        case "database": "Database"
        case "redis": "Redis"
        case "webhook": "Webhook round trip"
        case "facebook_token": "Facebook Page token"
        case "facebook_subscription": "Facebook subscription"
        default: name
        }
    }

    // MARK: Database and Redis

    private func databaseCheck() async -> Check {
        let kind = status.databaseKind
        do {
            let version = try await Self.within(checkTimeout) { try await status.schemaVersion() }
            return Check(name: "database", ok: true, detail: "\(kind) answers (schema \(version)).")
        } catch {
            return Check(name: "database", ok: false, detail: "\(kind) is unavailable: \(error).")
        }
    }

    private static func redisCheck(_ report: StatusReport.Redis) -> Check {
        switch report.state {
        case .notConfigured:
            Check(name: "redis", ok: true, detail: "Not configured: the embedded queue (in the database) is in use, which needs no Redis.")
        case .connected:
            Check(name: "redis", ok: true, detail: "Redis connected (\(report.url ?? "")).")
        case .disconnected:
            Check(
                name: "redis",
                ok: false,
                detail: "Redis at \(report.url ?? "REDIS_URL") is disconnected: jobs wait in the database until it returns."
            )
        }
    }

    /// Runs `body`, or gives up after `limit`: a check must answer even when what it checks
    /// hangs (a database that accepts no connection may keep a caller waiting).
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw NoAnswer(limit: limit) }
            return value
        }
    }

    struct NoAnswer: Error, CustomStringConvertible {
        var limit: Duration
        var description: String { "no answer within \(limit.components.seconds) s" }
    }

    // MARK: Round trip

    private func roundTripCheck(pageId: String) async -> Check {
        func failed(_ detail: String) -> Check { Check(name: "webhook", ok: false, detail: detail) }
        guard let appSecret else {
            return failed("FACEBOOK_APP_SECRET is not set, so this server refuses every webhook Meta signs.")
        }
        let started = Date()
        let nonce = UUID().uuidString.lowercased()
        let mid = "m_switchboard_webhook_test_\(nonce)"
        let body = Self.probeBody(pageId: pageId, psid: WebhookProbe.psidPrefix + nonce, mid: mid, at: started)
        let url = "\(publicURL)/api/webhook/facebook"
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Hub-Signature-256", value: WebhookSignature.sign(body: body, appSecret: appSecret))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(checkTimeout.components.seconds))
            let answer = String(buffer: try await response.body.collect(upTo: 4096))
            guard response.status == .ok, answer == "EVENT_RECEIVED" else {
                return failed("\(url) answered \(response.status.code): \(answer.prefix(200)). \(Self.hint(for: response.status.code))")
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return failed(
                "\(url) did not answer within \(checkTimeout.components.seconds) s: Meta gives up after 20 s and retries. Is its database answering?"
            )
        } catch {
            return failed("Could not reach \(url) (\(error)). Meta posts to this address: check NEXTAUTH_URL or PUBLIC_URL.")
        }
        let accepted = ContinuousClock.now
        do {
            while try await !Self.within(checkTimeout, { try await store.webhookProbeApplied(pageId: pageId, mid: mid) }) {
                guard ContinuousClock.now - accepted < processingTimeout else {
                    let ready = (try? await Self.within(checkTimeout) { try await store.queue.stats() }).map { " (\($0.ready) jobs waiting)" } ?? ""
                    return failed(
                        "\(url) stored the event, but it was not processed within \(processingTimeout.components.seconds) s\(ready): is a worker running (serve --role worker or all)?"
                    )
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let elapsed = ContinuousClock.now - accepted
            _ = try await Self.within(checkTimeout) { try await store.removeWebhookProbes(mid: mid, receivedSince: started.addingTimeInterval(-60)) }
            return Check(
                name: "webhook",
                ok: true,
                detail: "A signed test event POSTed to \(url) was stored and applied in \(Self.milliseconds(elapsed)) ms, then removed."
            )
        } catch {
            return failed("\(url) accepted the event, but reading the database failed: \(error).")
        }
    }

    static func hint(for status: UInt) -> String {
        switch status {
        case 403: "The server there checks signatures with another FACEBOOK_APP_SECRET."
        case 503: "The server there could not store the event: is its database up?"
        case 404: "No Switchboard answers there: check NEXTAUTH_URL or PUBLIC_URL."
        default: "Meta needs 200 EVENT_RECEIVED."
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// A Messenger batch with one text message from the probe customer, as Meta sends it.
    static func probeBody(pageId: String, psid: String, mid: String, at date: Date) -> [UInt8] {
        let time = date.millisecondsSince1970
        let event: [String: Any] = [
            "sender": ["id": psid], "recipient": ["id": pageId], "timestamp": time,
            "message": ["mid": mid, "text": "Switchboard webhook test"],
        ]
        let batch: [String: Any] = ["object": "page", "entry": [["id": pageId, "time": time, "messaging": [event]]]]
        return Array((try? JSONSerialization.data(withJSONObject: batch, options: [.sortedKeys])) ?? Data())
    }

    // MARK: Facebook

    private func facebookChecks(pageId: String) async -> [Check] {
        let token: PageAccessToken
        do {
            guard let sealed = try await Self.within(checkTimeout, { try await store.page(id: pageId) })?.sealedAccessToken else {
                let detail = "No access token is stored for Page \(pageId): connect it on the Pages screen."
                return [Check(name: "facebook_token", ok: false, detail: detail), Self.skipped]
            }
            token = PageAccessToken(try box.open(sealed))
        } catch {
            return [Check(name: "facebook_token", ok: false, detail: "The Page's token could not be read: \(error)."), Self.skipped]
        }
        do {
            let identity = try await graph.me(token: token)
            guard identity.id == pageId else {
                let detail = "The stored token belongs to another Page (\(identity.id)): connect Page \(pageId) again."
                return [Check(name: "facebook_token", ok: false, detail: detail), Self.skipped]
            }
            let tokenCheck = Check(name: "facebook_token", ok: true, detail: "The token works for \(identity.name ?? pageId) (\(pageId)).")
            return [tokenCheck, await subscriptionCheck(pageId: pageId, token: token)]
        } catch {
            return [Check(name: "facebook_token", ok: false, detail: "Facebook refused the token: \(Self.graphReason(error))."), Self.skipped]
        }
    }

    private static let skipped = Check(name: "facebook_subscription", ok: false, detail: "Not checked: it needs a working Page token.")

    private func subscriptionCheck(pageId: String, token: PageAccessToken) async -> Check {
        func failed(_ detail: String) -> Check { Check(name: "facebook_subscription", ok: false, detail: detail) }
        let apps: [SubscribedApp]
        do {
            apps = try await graph.subscribedApps(pageId: pageId, token: token)
        } catch {
            return failed("Facebook did not list the Page's subscribed apps: \(Self.graphReason(error)).")
        }
        guard let ours = apps.first(where: { appId == nil || $0.id == appId }) else {
            let others = apps.isEmpty ? "no app" : apps.map { $0.name ?? $0.id }.joined(separator: ", ")
            return failed(
                "Our app\(appId.map { " (\($0))" } ?? "") is not subscribed to the Page (\(others) is): connect the Page again, which subscribes it."
            )
        }
        let missing = Self.requiredFields.filter { !ours.subscribedFields.contains($0) }
        guard missing.isEmpty else {
            return failed("Subscribed, but without \(missing.joined(separator: ", ")): connect the Page again to subscribe every field.")
        }
        let note = appId == nil ? " (FACEBOOK_APP_ID is not set, so any subscribed app counts)" : ""
        return Check(name: "facebook_subscription", ok: true, detail: "\(ours.name ?? ours.id) is subscribed to every field we need\(note).")
    }

    static func graphReason(_ error: any Error) -> String {
        guard let graphError = error as? GraphError else { return "\(error)" }
        if let body = graphError.body {
            return "error \(body.code)\(body.subcode.map { "/\($0)" } ?? ""): \(body.message ?? "no message")"
        }
        return graphError.description
    }
}
