public import NIOCore

/// Decodes the body of a webhook POST into a flat, ordered list of events.
///
/// Iterates **every** `entry[]` and, inside each, every `messaging[]` and `standby[]` event
/// (bots that read only `entry[0]` lose messages). Decoding is per event: one malformed event
/// becomes `.malformed` and its siblings still arrive. Only a body that is not JSON, has no
/// `entry` array, or is about another `object` than `page` is rejected as a whole.
///
/// Also accepts the dashboard's test form, `{"field": "messages", "value": {…event…}}`, at
/// the top level or in `entry[].changes[]`.
public enum WebhookBatch {
    /// Decodes raw body bytes. Throws `webhook.body_not_json`, `webhook.entry_missing`,
    /// `webhook.object_not_page`.
    public static func decode(_ bytes: [UInt8]) throws(MessengerError) -> [WebhookEvent] {
        guard let root = JSONValue.parse(bytes) else {
            throw MessengerError(.bodyNotJSON, "The webhook body is not valid JSON.")
        }
        return try decode(root)
    }

    /// Decodes the readable bytes of a buffer (the buffer is not consumed).
    public static func decode(_ buffer: ByteBuffer) throws(MessengerError) -> [WebhookEvent] {
        try decode(Array(buffer.readableBytesView))
    }

    /// Decodes a body given as text.
    public static func decode(_ text: String) throws(MessengerError) -> [WebhookEvent] {
        try decode(Array(text.utf8))
    }

    static func decode(_ root: JSONValue) throws(MessengerError) -> [WebhookEvent] {
        guard root.object != nil else {
            throw MessengerError(.entryMissing, "The webhook body is not a JSON object.")
        }
        if let object = root["object"], object.string != "page" {
            let name = object.string ?? object.jsonText
            throw MessengerError(.objectNotPage, "The webhook is about '\(name)', not 'page'.")
        }
        if root["entry"] == nil, let value = root["value"], root["field"] != nil {
            return [WebhookEventDecoder.decodeTestForm(value: value, pageId: nil)]
        }
        guard let entries = root["entry"]?.array else {
            throw MessengerError(.entryMissing, "The webhook body has no 'entry' array.")
        }
        var events: [WebhookEvent] = []
        for entry in entries {
            let pageId = entry["id"]?.id ?? ""
            let entryTime = entry["time"]?.int64
            for (key, channel) in [("messaging", WebhookEvent.Channel.messaging), ("standby", .standby)] {
                for event in entry[key]?.array ?? [] {
                    events.append(
                        WebhookEventDecoder.decode(event, pageId: pageId, entryTime: entryTime, channel: channel)
                    )
                }
            }
            for change in entry["changes"]?.array ?? [] {
                if let value = change["value"] {
                    events.append(WebhookEventDecoder.decodeTestForm(value: value, pageId: pageId))
                }
            }
        }
        return events
    }
}
