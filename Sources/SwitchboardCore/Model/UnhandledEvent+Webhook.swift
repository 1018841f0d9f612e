import Foundation
public import Messenger

extension UnhandledEvent {
    /// The record kept for an event the worker does not apply (unknown kinds, malformed
    /// events, referrals, opt-ins, handovers), or nil for events it applies.
    public init?(_ event: WebhookEvent, index: Int) {
        let described: (String, String?, String)
        switch event.payload {
        case .unknown(let kind, let json): described = (kind, nil, json)
        case .malformed(let reason, let json): described = ("malformed", reason, json)
        case .referral(let r): described = ("referral", nil, UnhandledEvent.referralJSON(r))
        case .optin(let o): described = ("optin", nil, UnhandledEvent.flatJSON(["type": o.type, "ref": o.ref, "payload": o.payload]))
        case .passThreadControl(let t): described = ("pass_thread_control", nil, UnhandledEvent.threadJSON(t))
        case .takeThreadControl(let t): described = ("take_thread_control", nil, UnhandledEvent.threadJSON(t))
        case .requestThreadControl(let t): described = ("request_thread_control", nil, UnhandledEvent.threadJSON(t))
        case .message, .echo, .postback, .delivery, .read, .reaction, .messageEdit: return nil
        }
        self.init(
            index: index,
            pageId: event.pageId.isEmpty ? nil : event.pageId,
            kind: described.0,
            reason: described.1,
            json: described.2
        )
    }
}

extension UnhandledEvent {
    /// A flat object of optional strings, keys sorted, so replays produce identical text.
    public static func flatJSON(_ fields: [String: String?]) -> String {
        let present = fields.compactMapValues { $0 }
        guard let data = try? JSONSerialization.data(withJSONObject: present, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func referralJSON(_ r: Referral) -> String {
        flatJSON(["ref": r.ref, "source": r.source, "type": r.type])
    }

    static func threadJSON(_ t: ThreadControl) -> String {
        flatJSON([
            "new_owner_app_id": t.newOwnerAppId, "previous_owner_app_id": t.previousOwnerAppId,
            "requested_owner_app_id": t.requestedOwnerAppId, "metadata": t.metadata,
        ])
    }
}
