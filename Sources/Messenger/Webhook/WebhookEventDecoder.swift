/// Turns one event object into a `WebhookEvent`, never throwing: what it cannot read
/// becomes `.malformed`, what it does not know becomes `.unknown`.
enum WebhookEventDecoder {
    /// Keys every event has that are not its payload.
    private static let envelopeKeys: Set<String> = ["sender", "recipient", "timestamp"]

    static func decode(
        _ event: JSONValue,
        pageId: String,
        entryTime: Int64?,
        channel: WebhookEvent.Channel
    ) -> WebhookEvent {
        let senderId = event["sender"]?["id"]?.id
        let recipientId = event["recipient"]?["id"]?.id
        func make(_ customerId: String?, _ payload: WebhookPayload) -> WebhookEvent {
            WebhookEvent(
                pageId: pageId,
                customerId: customerId ?? "",
                timestamp: event["timestamp"]?.int64 ?? entryTime ?? 0,
                channel: channel,
                payload: payload
            )
        }
        func malformed(_ reason: String) -> WebhookEvent {
            make(senderId, .malformed(reason: reason, json: event.jsonText))
        }
        guard let object = event.object else {
            return malformed("The event is not a JSON object.")
        }
        guard event["timestamp"]?.int64 != nil || entryTime != nil else {
            return malformed("The event has no timestamp.")
        }
        let kinds = object.keys.filter { !envelopeKeys.contains($0) }.sorted()
        guard let kind = kinds.first(where: { known.contains($0) }) ?? kinds.first else {
            return malformed("The event has no payload.")
        }
        let body = object[kind] ?? .null

        if kind == "message", body["is_echo"]?.bool == true {
            guard let customer = recipientId else { return malformed("The echo has no recipient.id.") }
            guard let mid = body["mid"]?.id else { return malformed("The echo has no mid.") }
            let echo = Echo(
                mid: mid,
                appId: body["app_id"]?.id,
                metadata: body["metadata"]?.string,
                text: body["text"]?.string,
                attachments: attachments(body["attachments"])
            )
            return make(customer, .echo(echo))
        }
        guard known.contains(kind) else {
            return make(senderId, .unknown(kind: kind, json: event.jsonText))
        }
        guard body.object != nil else { return malformed("'\(kind)' is not an object.") }
        guard let customer = senderId ?? (kind == "optin" ? body["user_ref"]?.id : nil) else {
            return malformed("The event has no sender.id.")
        }
        switch kind {
        case "message":
            guard let mid = body["mid"]?.id else { return malformed("The message has no mid.") }
            let message = InboundMessage(
                mid: mid,
                text: body["text"]?.string,
                attachments: attachments(body["attachments"]),
                quickReplyPayload: body["quick_reply"]?["payload"]?.string,
                replyToMid: body["reply_to"]?["mid"]?.id
            )
            return make(customer, .message(message))
        case "postback":
            let postback = Postback(
                mid: body["mid"]?.id,
                title: body["title"]?.string,
                payload: body["payload"]?.string,
                referral: body["referral"].flatMap(referral)
            )
            return make(customer, .postback(postback))
        case "delivery":
            guard let watermark = body["watermark"]?.int64 else { return malformed("The delivery has no watermark.") }
            let mids = body["mids"]?.array?.compactMap(\.id) ?? []
            return make(customer, .delivery(Delivery(watermark: watermark, mids: mids)))
        case "read":
            guard let watermark = body["watermark"]?.int64 else { return malformed("The read has no watermark.") }
            return make(customer, .read(Read(watermark: watermark)))
        case "reaction":
            guard let mid = body["mid"]?.id else { return malformed("The reaction has no mid.") }
            guard let action = body["action"]?.string.flatMap(Reaction.Action.init(rawValue:)) else {
                return malformed("The reaction's action is not react or unreact.")
            }
            let reaction = Reaction(
                mid: mid,
                action: action,
                reaction: body["reaction"]?.string,
                emoji: body["emoji"]?.string
            )
            return make(customer, .reaction(reaction))
        case "message_edit":
            guard let mid = body["mid"]?.id else { return malformed("The edit has no mid.") }
            let edit = MessageEdit(
                mid: mid,
                text: body["text"]?.string,
                numberOfEdits: body["num_edit"]?.int64.map { Int($0) }
            )
            return make(customer, .messageEdit(edit))
        case "referral":
            return make(customer, .referral(referral(body) ?? Referral()))
        case "optin":
            let optin = Optin(
                type: body["type"]?.string,
                ref: body["ref"]?.string,
                payload: body["payload"]?.string,
                userRef: body["user_ref"]?.id,
                notificationMessagesToken: body["notification_messages_token"]?.string
            )
            return make(customer, .optin(optin))
        case "pass_thread_control":
            return make(customer, .passThreadControl(threadControl(body)))
        case "take_thread_control":
            return make(customer, .takeThreadControl(threadControl(body)))
        case "request_thread_control":
            return make(customer, .requestThreadControl(threadControl(body)))
        default:
            return make(customer, .unknown(kind: kind, json: event.jsonText))
        }
    }

    /// The `{"field": …, "value": {…event…}}` test form: the page is the recipient of a
    /// customer event (or the sender of an echo) when the entry does not say.
    static func decodeTestForm(value: JSONValue, pageId: String?) -> WebhookEvent {
        let isEcho = value["message"]?["is_echo"]?.bool == true
        let page =
            pageId.flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
            ?? (isEcho ? value["sender"]?["id"]?.id : value["recipient"]?["id"]?.id) ?? ""
        return decode(value, pageId: page, entryTime: nil, channel: .messaging)
    }

    private static let known: Set<String> = [
        "message", "postback", "delivery", "read", "reaction", "message_edit", "referral", "optin",
        "pass_thread_control", "take_thread_control", "request_thread_control",
    ]

    private static func attachments(_ value: JSONValue?) -> [WebhookAttachment] {
        (value?.array ?? []).compactMap { item in
            guard let type = item["type"]?.string else { return nil }
            let payload = item["payload"]
            return WebhookAttachment(
                type: type,
                url: payload?["url"]?.string ?? item["url"]?.string,
                stickerId: payload?["sticker_id"]?.id,
                title: payload?["title"]?.string ?? item["title"]?.string
            )
        }
    }

    private static func referral(_ value: JSONValue) -> Referral? {
        guard value.object != nil else { return nil }
        return Referral(ref: value["ref"]?.string, source: value["source"]?.string, type: value["type"]?.string)
    }

    private static func threadControl(_ value: JSONValue) -> ThreadControl {
        ThreadControl(
            newOwnerAppId: value["new_owner_app_id"]?.id,
            previousOwnerAppId: value["previous_owner_app_id"]?.id,
            requestedOwnerAppId: value["requested_owner_app_id"]?.id,
            metadata: value["metadata"]?.string
        )
    }
}
