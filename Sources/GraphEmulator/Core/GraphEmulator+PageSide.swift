internal import AsyncHTTPClient
internal import Foundation
@_spi(GraphEmulator) internal import Messenger
internal import NIOCore
internal import NIOHTTP1
internal import Synchronization

/// Things that happen on the Page's side outside our app: a human answering in Meta's own
/// inbox, thread control moving between apps, the dashboard's webhook check.
extension GraphEmulator {
    /// Meta's Page Inbox app id (a human replying in Meta's tools).
    public static let pageInboxAppId = "263902037430900"

    /// A human answers in Meta's Page Inbox: the customer receives it and an echo with
    /// `app_id` 263902037430900 and no metadata is posted (then delivery and read), which
    /// is how Switchboard learns another app answered. Returns the `mid`.
    @discardableResult
    public func replyFromPageInbox(pageId: String, psid: String, text: String) -> String {
        let message = ReceivedMessage(mid: WebhookBuilder.mid(), text: text, timestamp: clock.nowMilliseconds)
        let reads = state.withLock { state -> Bool in
            state.received[CustomerKey(pageId, psid), default: []].append(message)
            return state.customers[CustomerKey(pageId, psid)]?.readsMessages ?? true
        }
        emit(.messageReceived(pageId: pageId, psid: psid, message))
        enqueueReceipts(pageId: pageId, psid: psid, message: message, reads: reads, appId: Self.pageInboxAppId)
        return message.mid
    }

    /// Thread control events (`messaging_handovers`), as Conversation Routing posts them.
    public enum Handover: Sendable, Hashable {
        case pass(newOwnerAppId: String, previousOwnerAppId: String)
        case take(newOwnerAppId: String, previousOwnerAppId: String)
        case request(requestedOwnerAppId: String)
    }

    /// Posts a handover event for the customer's thread now. True when acknowledged.
    @discardableResult
    public func postHandover(pageId: String, psid: String, _ handover: Handover, metadata: String? = nil) async -> Bool {
        let (key, payload): (String, [String: JSONValue]) =
            switch handover {
            case .pass(let new, let previous):
                ("pass_thread_control", ["new_owner_app_id": .string(new), "previous_owner_app_id": .string(previous)])
            case .take(let new, let previous):
                ("take_thread_control", ["new_owner_app_id": .string(new), "previous_owner_app_id": .string(previous)])
            case .request(let requested):
                ("request_thread_control", ["requested_owner_app_id": .string(requested)])
            }
        var object = payload
        if let metadata { object["metadata"] = .string(metadata) }
        let now = clock.nowMilliseconds
        let event = WebhookBuilder.customerEvent(page: pageId, psid: psid, timestamp: now, key: key, payload: .object(object))
        return await postWebhook(WebhookBuilder.body(page: pageId, events: [event], time: now), kind: key)
    }

    /// Makes Meta's verification GET against the webhook URL; true when it answered 200
    /// with the challenge.
    public func verifyWebhook(verifyToken: String) async -> Bool {
        guard let url = state.withLock({ $0.configuration.webhookURL }) else { return false }
        let challenge = String(Int.random(in: 1_000_000_000..<2_000_000_000))
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let token = verifyToken.addingPercentEncoding(withAllowedCharacters: allowed) ?? verifyToken
        let separator = url.contains("?") ? "&" : "?"
        let request = HTTPClientRequest(
            url: "\(url)\(separator)hub.mode=subscribe&hub.challenge=\(challenge)&hub.verify_token=\(token)"
        )
        do {
            let response = try await poster.httpClient.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 10)
            return response.status.code == 200 && String(buffer: body) == challenge
        } catch {
            return false
        }
    }

    /// How many Graph calls carried the token in the URL (`access_token=`) instead of the
    /// `Authorization` header; Switchboard's own calls must keep this at 0 (invariant 8).
    public var tokensSeenInURL: Int { state.withLock { $0.tokensSeenInURL } }

    func noteTokenInURL() { state.withLock { $0.tokensSeenInURL += 1 } }
}
