@_spi(GraphEmulator) internal import Messenger

/// Builds webhook events and bodies in Meta's shapes (messenger-platform.md §3–§4).
enum WebhookBuilder {
    static func customerEvent(page: String, psid: String, timestamp: Int64, key: String, payload: JSONValue) -> JSONValue {
        .object([
            "sender": .object(["id": .string(psid)]), "recipient": .object(["id": .string(page)]),
            "timestamp": .int(timestamp), key: payload,
        ])
    }

    static func echo(page: String, psid: String, timestamp: Int64, appId: String, message: ReceivedMessage) -> JSONValue {
        var body: [String: JSONValue] = [
            "is_echo": .bool(true), "app_id": .int(Int64(appId) ?? 0), "mid": .string(message.mid),
        ]
        if Int64(appId) == nil { body["app_id"] = .string(appId) }
        if let text = message.text { body["text"] = .string(text) }
        if let metadata = message.metadata { body["metadata"] = .string(metadata) }
        if let type = message.attachmentType {
            body["attachments"] = .array([
                .object(["type": .string(type), "payload": .object(["url": .string(message.attachmentURL ?? "")])])
            ])
        }
        return .object([
            "sender": .object(["id": .string(page)]), "recipient": .object(["id": .string(psid)]),
            "timestamp": .int(timestamp), "message": .object(body),
        ])
    }

    static func delivery(page: String, psid: String, timestamp: Int64, mids: [String], watermark: Int64) -> JSONValue {
        customerEvent(
            page: page,
            psid: psid,
            timestamp: timestamp,
            key: "delivery",
            payload: .object(["mids": .array(mids.map { .string($0) }), "watermark": .int(watermark)])
        )
    }

    static func read(page: String, psid: String, timestamp: Int64, watermark: Int64) -> JSONValue {
        customerEvent(page: page, psid: psid, timestamp: timestamp, key: "read", payload: .object(["watermark": .int(watermark)]))
    }

    /// `{"object":"page","entry":[…]}` with the events of each Page spread over
    /// `entriesPerPage` entries (Meta batches both ways).
    static func body(
        page: String,
        events: [JSONValue],
        time: Int64,
        entriesPerPage: Int = 1,
        channel: String = "messaging"
    ) -> [UInt8] {
        let groups = max(1, min(entriesPerPage, events.count))
        var entries: [JSONValue] = []
        let size = (events.count + groups - 1) / max(groups, 1)
        var index = 0
        repeat {
            let slice = Array(events[index..<min(events.count, index + max(size, 1))])
            entries.append(.object(["id": .string(page), "time": .int(time), channel: .array(slice)]))
            index += max(size, 1)
        } while index < events.count
        return envelope(entries)
    }

    /// One entry per run of consecutive events of the same Page, in the order given: a
    /// batch of several Pages' receipts, as Meta aggregates notifications (§2.3).
    static func body(pagesAndEvents: [(page: String, event: JSONValue)], time: Int64) -> [UInt8] {
        var entries: [(page: String, events: [JSONValue])] = []
        for (page, event) in pagesAndEvents {
            if entries.last?.page == page { entries[entries.count - 1].events.append(event) } else { entries.append((page, [event])) }
        }
        return envelope(entries.map { .object(["id": .string($0.page), "time": .int(time), "messaging": .array($0.events)]) })
    }

    private static func envelope(_ entries: [JSONValue]) -> [UInt8] {
        Array(JSONValue.object(["object": .string("page"), "entry": .array(entries)]).jsonText.utf8)
    }

    static func mid() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return "m_" + String((0..<43).map { _ in alphabet.randomElement()! })
    }

    static func psid() -> String {
        "7" + String((0..<15).map { _ in "0123456789".randomElement()! })
    }
}
