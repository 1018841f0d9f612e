public import Messenger

extension UnhandledEvent {
    /// The record kept for an event the worker does not apply (unknown kinds, malformed
    /// events, referrals, opt-ins, handovers), or nil for events it applies.
    public init?(_ event: WebhookEvent, index: Int) {
        let described: (String, String?, String)
        switch event.payload {
        case .unknown(let kind, let json): described = (kind, nil, json)
        case .malformed(let reason, let json): described = ("malformed", reason, json)
        case .referral(let r): described = ("referral", nil, InboundApplication.referralJSON(r))
        case .optin(let o): described = ("optin", nil, JSONText.object(["type": o.type, "ref": o.ref, "payload": o.payload]))
        case .passThreadControl(let t): described = ("pass_thread_control", nil, InboundApplication.threadJSON(t))
        case .takeThreadControl(let t): described = ("take_thread_control", nil, InboundApplication.threadJSON(t))
        case .requestThreadControl(let t): described = ("request_thread_control", nil, InboundApplication.threadJSON(t))
        case .message, .echo, .postback, .delivery, .read, .reaction, .messageEdit: return nil
        }
        self.init(
            index: index, pageId: event.pageId.isEmpty ? nil : event.pageId, kind: described.0, reason: described.1,
            json: described.2
        )
    }
}
