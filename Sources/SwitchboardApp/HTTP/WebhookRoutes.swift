import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Messenger
import Metrics
import NIOCore
import SwitchboardCore
import SwitchboardServices

/// `GET/POST /api/webhook/facebook` (seed contract). The POST verifies the signature over
/// the raw bytes, stores the body, and answers 200 only after the commit; it does nothing
/// else (invariant 1). `/simple` answers the same handshake and acknowledges without
/// storing, as a reachability test.
struct WebhookRoutes {
    let store: any Store
    /// Told how long each stored webhook took to acknowledge (nil: nothing gives way).
    let pressure: AcknowledgementPressure?
    let verifyToken: String?
    let appSecret: AppSecret?
    let maxBytes: Int
    let logger: Logger

    func register(on router: Router<SwitchboardRequestContext>) {
        router.get("/api/webhook/facebook") { request, _ in try verify(request) }
        router.post("/api/webhook/facebook") { request, _ in try await receive(request) }
        router.get("/api/webhook/facebook/simple") { request, _ in try verify(request) }
        router.post("/api/webhook/facebook/simple") { _, _ in
            outcome("simple")
            return Self.text(.ok, "EVENT_RECEIVED")
        }
    }

    private func verify(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        guard let expected = verifyToken, !expected.isEmpty else {
            outcome("verify_unconfigured")
            logger.warning("webhook verification refused: WEBHOOK_VERIFY_TOKEN is not set")
            throw APIError(.forbidden, "verify_token_unconfigured", "WEBHOOK_VERIFY_TOKEN is not set on this server.")
        }
        guard query["hub.mode"].map(String.init) == "subscribe",
            let token = query["hub.verify_token"].map(String.init),
            ConstantTime.equal(Array(token.utf8), Array(expected.utf8))
        else {
            outcome("verify_rejected")
            throw APIError(.forbidden, "verify_token_mismatch", "hub.mode must be subscribe and hub.verify_token must match.")
        }
        outcome("verified")
        return Self.text(.ok, query["hub.challenge"].map(String.init) ?? "")
    }

    private func receive(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            outcome("too_large")
            throw APIError(.contentTooLarge, "payload_too_large", "The body is \(length) bytes; this server accepts at most \(maxBytes).")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            outcome("too_large")
            throw APIError(.contentTooLarge, "payload_too_large", "The body is over \(maxBytes) bytes.")
        }
        guard let appSecret else {
            outcome("unconfigured")
            throw APIError(.forbidden, "app_secret_unconfigured", "FACEBOOK_APP_SECRET is not set, so no signature can be verified.")
        }
        do {
            try WebhookSignature.verify(body: body, header: request.headers[Self.signatureHeader], appSecret: appSecret)
        } catch {
            outcome("bad_signature")
            throw APIError(.forbidden, error.code.rawValue.replacingOccurrences(of: ".", with: "_"), error.message)
        }
        do {
            _ = try await store.storeWebhook(body: Array(body.readableBytesView))
        } catch {
            outcome("storage_unavailable")
            logger.error("webhook not stored; answering 503 so Meta retries", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "storage_unavailable", "The webhook could not be stored; retry later.", headers: [.retryAfter: "5"])
        }
        outcome("accepted")
        let took = ContinuousClock.now - started
        if pressure?.record(took) == true {
            Counter(label: "switchboard_webhook_ack_pressure_total").increment()
            logger.notice(
                "webhook acknowledgements are slow; applying them gives way for a while",
                metadata: ["ack_ms": "\(took.nanoseconds / 1_000_000)"]
            )
        }
        Timer(label: "switchboard_webhook_ack_seconds", preferredDisplayUnit: .seconds).recordNanoseconds(took.nanoseconds)
        return Self.text(.ok, "EVENT_RECEIVED")
    }

    private func outcome(_ name: String) {
        Counter(label: "switchboard_webhook_requests_total", dimensions: [("outcome", name)]).increment()
    }

    static let signatureHeader = HTTPField.Name(WebhookSignature.headerName)!

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Comparison whose time does not depend on where the inputs differ.
enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
