internal import AsyncHTTPClient
internal import Logging
@_spi(GraphEmulator) internal import Messenger
internal import NIOCore
internal import NIOHTTP1

/// POSTs webhook bodies the way Meta does: `X-Hub-Signature-256` and the legacy
/// `X-Hub-Signature`, retried with doubling backoff on anything but 200, a bounded number of
/// times.
struct WebhookPoster: Sendable {
    var httpClient: HTTPClient
    var logger: Logger

    struct Target: Sendable {
        var url: String
        var appSecret: AppSecret
        var maxAttempts: Int
        var backoff: Duration
    }

    /// One attempt; the HTTP status, or 0 when no answer came.
    func postOnce(_ body: [UInt8], to target: Target) async -> Int {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: WebhookSignature.headerName, value: WebhookSignature.sign(body: body, appSecret: target.appSecret))
        request.headers.add(
            name: WebhookSignature.legacyHeaderName,
            value: WebhookSignature.signLegacySHA1(body: body, appSecret: target.appSecret)
        )
        request.headers.add(name: "User-Agent", value: "facebookexternalua")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await httpClient.execute(request, timeout: .seconds(20))
            _ = try? await response.body.collect(upTo: 1 << 16)
            return Int(response.status.code)
        } catch {
            logger.debug("webhook post failed", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Attempts until a 200 or `maxAttempts`; reports each attempt. True when delivered.
    func deliver(
        _ body: [UInt8],
        to target: Target,
        report: (_ status: Int, _ attempt: Int) -> Void
    ) async -> Bool {
        var delay = target.backoff
        for attempt in 1...max(1, target.maxAttempts) {
            let status = await postOnce(body, to: target)
            report(status, attempt)
            if status == 200 { return true }
            if attempt < target.maxAttempts {
                do { try await Task.sleep(for: delay) } catch { return false }
                delay *= 2
            }
        }
        return false
    }
}
