@_spi(GraphEmulator) public import Messenger

/// One customer writing to a Page: every call posts a correctly signed webhook (as Meta
/// would) to the emulator's webhook URL, retrying on non-200 with backoff, and returns once
/// it was acknowledged. Also moves the customer's messaging window (last inbound time).
///
/// ```swift
/// let ana = emulator.addCustomer(pageId: page, firstName: "Ana", lastName: "Silva")
/// let mid = try await ana.say("Is the blue jacket in stock?")
/// ```
public struct CustomerSimulator: Sendable {
    public struct Options: Sendable, Hashable {
        /// Chance (0–1) that a POST is sent twice (Meta's duplicates). 0 in tests by default.
        public var duplicateProbability: Double
        /// Spread a batch over this many `entry[]` items (Meta batches both ways).
        public var entriesPerPost: Int

        /// Post in `standby[]`, as Meta does when another app owns the thread.
        public var standby: Bool

        public init(duplicateProbability: Double = 0, entriesPerPost: Int = 1, standby: Bool = false) {
            self.duplicateProbability = duplicateProbability
            self.entriesPerPost = entriesPerPost
            self.standby = standby
        }
    }

    /// The webhook was not acknowledged with 200 after every attempt.
    public struct DeliveryFailed: Error, Sendable, Hashable, CustomStringConvertible {
        public var kind: String
        public var description: String { "The webhook '\(kind)' was not acknowledged with 200." }
    }

    let emulator: GraphEmulator
    public let pageId: String
    public let psid: String
    public var options: Options

    init(emulator: GraphEmulator, pageId: String, psid: String, options: Options) {
        self.emulator = emulator
        self.pageId = pageId
        self.psid = psid
        self.options = options
    }

    /// Writes a text message; returns its `mid`.
    @discardableResult
    public func say(_ text: String, replyTo: String? = nil) async throws -> String {
        try await say([text], replyTo: replyTo)[0]
    }

    /// Writes several text messages in one POST (batched); returns their `mid`s in order.
    @discardableResult
    public func say(_ texts: [String], replyTo: String? = nil) async throws -> [String] {
        try await post(
            texts.map { text in
                var message: [String: JSONValue] = ["text": .string(text)]
                if let replyTo { message["reply_to"] = .object(["mid": .string(replyTo)]) }
                return ("message", .object(message))
            },
            inbound: true
        )
    }

    /// Sends an attachment (`image`, `audio`, `video`, `file`, `sticker`, `fallback`).
    @discardableResult
    public func send(attachment type: String, url: String?, stickerId: String? = nil) async throws -> String {
        var payload: [String: JSONValue] = [:]
        if let url { payload["url"] = .string(url) }
        if let stickerId { payload["sticker_id"] = .int(Int64(stickerId) ?? 0) }
        var attachment: [String: JSONValue] = ["type": .string(type)]
        if !payload.isEmpty { attachment["payload"] = .object(payload) }
        return try await post([("message", .object(["attachments": .array([.object(attachment)])]))], inbound: true)[0]
    }

    /// Taps a quick reply: a message whose text is the title, with the payload.
    @discardableResult
    public func tapQuickReply(title: String, payload: String) async throws -> String {
        try await post(
            [("message", .object(["text": .string(title), "quick_reply": .object(["payload": .string(payload)])]))],
            inbound: true
        )[0]
    }

    /// Taps a postback button (or Get Started); returns the postback's `mid`.
    @discardableResult
    public func postback(title: String, payload: String, referral: Referral? = nil) async throws -> String {
        var object: [String: JSONValue] = ["title": .string(title), "payload": .string(payload)]
        if let referral {
            var ref: [String: JSONValue] = [:]
            if let value = referral.ref { ref["ref"] = .string(value) }
            if let value = referral.source { ref["source"] = .string(value) }
            if let value = referral.type { ref["type"] = .string(value) }
            object["referral"] = .object(ref)
        }
        return try await post([("postback", .object(object))], inbound: true)[0]
    }

    /// Reacts to a message (`reaction` like `love`, `emoji` like ❤).
    public func react(to mid: String, reaction: String = "love", emoji: String = "❤") async throws {
        _ = try await post(
            [
                (
                    "reaction",
                    .object([
                        "mid": .string(mid), "action": .string("react"), "reaction": .string(reaction),
                        "emoji": .string(emoji),
                    ])
                )
            ],
            inbound: false
        )
    }

    /// Removes a reaction.
    public func unreact(from mid: String) async throws {
        _ = try await post([("reaction", .object(["mid": .string(mid), "action": .string("unreact")]))], inbound: false)
    }

    /// Edits one of the customer's earlier messages (`message_edits`).
    public func edit(_ mid: String, newText: String) async throws {
        _ = try await post(
            [("message_edit", .object(["mid": .string(mid), "text": .string(newText), "num_edit": .int(1)]))],
            inbound: false
        )
    }

    /// Reads everything the Page sent so far (a `read` webhook with the latest watermark).
    public func readAll() async throws {
        let watermark = emulator.received(pageId: pageId, psid: psid).last?.timestamp ?? emulator.clock.nowMilliseconds
        _ = try await post([("read", .object(["watermark": .int(watermark)]))], inbound: false)
    }

    /// Posts events of this customer in one body; mints `mid`s for messages and postbacks.
    private func post(_ items: [(key: String, payload: JSONValue)], inbound: Bool) async throws -> [String] {
        var mids: [String] = []
        var events: [JSONValue] = []
        let now = emulator.clock.nowMilliseconds
        for (offset, item) in items.enumerated() {
            var payload = item.payload
            if item.key == "message" || item.key == "postback", case .object(var object) = payload {
                let mid = WebhookBuilder.mid()
                object["mid"] = .string(mid)
                payload = .object(object)
                mids.append(mid)
            }
            events.append(
                WebhookBuilder.customerEvent(
                    page: pageId,
                    psid: psid,
                    timestamp: now + Int64(offset),
                    key: item.key,
                    payload: payload
                )
            )
        }
        if inbound { emulator.setLastInbound(pageId: pageId, psid: psid, at: emulator.clock.now) }
        let kind = items.first?.key ?? "event"
        let body = WebhookBuilder.body(
            page: pageId,
            events: events,
            time: now,
            entriesPerPage: options.entriesPerPost,
            channel: options.standby ? "standby" : "messaging"
        )
        guard await emulator.postWebhook(body, kind: kind) else { throw DeliveryFailed(kind: kind) }
        if options.duplicateProbability > 0, Double.random(in: 0..<1) < options.duplicateProbability {
            _ = await emulator.postWebhook(body, kind: kind)
        }
        return mids
    }
}

extension GraphEmulator {
    /// Several customers of one Page write at once and Meta batches them into one POST,
    /// spread over `entries` entries. Returns the `mid`s in order.
    @discardableResult
    public func postBatch(pageId: String, _ messages: [(psid: String, text: String)], entries: Int = 1) async throws -> [String] {
        let now = clock.nowMilliseconds
        var mids: [String] = []
        var events: [JSONValue] = []
        for (offset, message) in messages.enumerated() {
            let mid = WebhookBuilder.mid()
            mids.append(mid)
            events.append(
                WebhookBuilder.customerEvent(
                    page: pageId,
                    psid: message.psid,
                    timestamp: now + Int64(offset),
                    key: "message",
                    payload: .object(["mid": .string(mid), "text": .string(message.text)])
                )
            )
            setLastInbound(pageId: pageId, psid: message.psid, at: clock.now)
        }
        let body = WebhookBuilder.body(page: pageId, events: events, time: now, entriesPerPage: entries)
        guard await postWebhook(body, kind: "message") else { throw CustomerSimulator.DeliveryFailed(kind: "message") }
        return mids
    }
}
