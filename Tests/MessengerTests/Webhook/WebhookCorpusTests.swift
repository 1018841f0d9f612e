import Messenger
import Testing

/// Every file of `Tests/Fixtures/webhooks` decoded, compared with what it must give.
/// A new fixture without an entry here fails `everyFixtureHasAnExpectation`.
@Suite struct WebhookCorpusTests {
    static let page = "106123456789012"
    static let psid = "6234567890123456"
    static let t0: Int64 = 1_764_064_800_000
    static let ourApp = "947561230458812"
    static let pageInbox = "263902037430900"

    static func event(
        _ payload: WebhookPayload,
        at offset: Int64,
        customer: String = psid,
        page: String = page,
        channel: WebhookEvent.Channel = .messaging
    ) -> WebhookEvent {
        WebhookEvent(pageId: page, customerId: customer, timestamp: t0 + offset, channel: channel, payload: payload)
    }

    static func text(_ mid: String, _ text: String, at offset: Int64) -> WebhookEvent {
        event(.message(InboundMessage(mid: mid, text: text)), at: offset)
    }

    static func cdn(_ type: String, _ ext: String) -> WebhookEvent {
        event(
            .message(
                InboundMessage(
                    mid: "m_AbC1-\(type)-0001",
                    attachments: [
                        WebhookAttachment(
                            type: type,
                            url: "https://scontent.xx.fbcdn.net/v/t1.15752-9/\(type)-sample.\(ext)?_nc_cat=1&oh=00_AfB&oe=6760A1B2"
                        )
                    ]
                )
            ),
            at: 5000
        )
    }

    static let stickerURL = "https://scontent.xx.fbcdn.net/v/t39.1997-6/851557_369239266556155_759568595_n.png"

    /// What each well-formed fixture decodes to, event by event.
    static let exact: [String: [WebhookEvent]] = [
        "message-text.json": [text("m_AbC1-text-0001", "Hi! Is the blue jacket still in stock?", at: 0)],
        "message-text-numeric-ids.json": [text("m_AbC1-text-0002", "ids as numbers", at: 1000)],
        "message-text-string-timestamp.json": [text("m_AbC1-text-0003", "timestamp as a string", at: 2000)],
        "message-unicode.json": [
            text("m_AbC1-unicode-0001", "Grüß Gott 👋 你好 مرحبا \"quoted\" back\\slash\nnew line", at: 3000)
        ],
        "message-unicode-raw-utf8.json": [text("m_AbC1-unicode-0002", "Grüß Gott 👋 你好 مرحبا", at: 4000)],
        "message-attachment-image.json": [cdn("image", "jpg")],
        "message-attachment-audio.json": [cdn("audio", "mp4")],
        "message-attachment-video.json": [cdn("video", "mp4")],
        "message-attachment-file.json": [cdn("file", "pdf")],
        "message-attachment-sticker.json": [
            event(
                .message(
                    InboundMessage(
                        mid: "m_AbC1-sticker-0001",
                        attachments: [WebhookAttachment(type: "sticker", url: stickerURL, stickerId: "369239263222822")]
                    )
                ),
                at: 6000
            )
        ],
        "message-attachment-sticker-legacy-image.json": [
            event(
                .message(
                    InboundMessage(
                        mid: "m_AbC1-sticker-0002",
                        attachments: [WebhookAttachment(type: "image", url: stickerURL, stickerId: "369239263222822")]
                    )
                ),
                at: 6100
            )
        ],
        "message-attachment-fallback-no-payload.json": [
            event(
                .message(
                    InboundMessage(
                        mid: "m_AbC1-fallback-0001",
                        text: "look https://example.com/jackets",
                        attachments: [WebhookAttachment(type: "fallback")]
                    )
                ),
                at: 7000
            )
        ],
        "message-attachment-fallback-link.json": [
            event(
                .message(
                    InboundMessage(
                        mid: "m_AbC1-fallback-0002",
                        text: "https://example.com/jackets",
                        attachments: [
                            WebhookAttachment(
                                type: "fallback",
                                url: "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2Fjackets",
                                title: "Jackets – Example Store"
                            )
                        ]
                    )
                ),
                at: 7100
            )
        ],
        "message-attachments-multiple.json": [
            event(
                .message(
                    InboundMessage(
                        mid: "m_AbC1-multi-0001",
                        attachments: [
                            WebhookAttachment(type: "image", url: "https://scontent.xx.fbcdn.net/v/one.jpg"),
                            WebhookAttachment(type: "image", url: "https://scontent.xx.fbcdn.net/v/two.jpg"),
                            WebhookAttachment(type: "reel", url: "https://www.facebook.com/reel/123", title: "A reel"),
                        ]
                    )
                ),
                at: 8000
            )
        ],
        "message-quick-reply.json": [
            event(.message(InboundMessage(mid: "m_AbC1-qr-0001", text: "Size M", quickReplyPayload: "SIZE_M")), at: 9000)
        ],
        "message-reply-to.json": [
            event(
                .message(InboundMessage(mid: "m_AbC1-reply-0001", text: "Yes, that one", replyToMid: "m_AbC1-text-0001")),
                at: 10000
            )
        ],
        "echo-own-app-metadata.json": [
            event(
                .echo(
                    Echo(
                        mid: "m_Page-echo-0001",
                        appId: ourApp,
                        metadata: "sb_out_01JDQ7Z3X4",
                        text: "Yes, we have it in M and L."
                    )
                ),
                at: 11000
            )
        ],
        "echo-page-inbox.json": [
            event(
                .echo(Echo(mid: "m_Page-echo-0002", appId: pageInbox, text: "Hi, this is Dana from the shop team.")),
                at: 12000
            )
        ],
        "echo-attachment.json": [
            event(
                .echo(
                    Echo(
                        mid: "m_Page-echo-0003",
                        appId: ourApp,
                        metadata: "sb_out_01JDQ7Z3X5",
                        attachments: [
                            WebhookAttachment(type: "image", url: "https://cdn.example.com/catalog/jacket-blue.jpg")
                        ]
                    )
                ),
                at: 12100
            )
        ],
        "postback-referral.json": [
            event(
                .postback(
                    Postback(
                        mid: "m_AbC1-postback-0001",
                        title: "Get Started",
                        payload: "GET_STARTED",
                        referral: Referral(ref: "winter-sale", source: "SHORTLINK", type: "OPEN_THREAD")
                    )
                ),
                at: 13000
            )
        ],
        "postback-button.json": [event(.postback(Postback(title: "Talk to a person", payload: "HUMAN")), at: 13100)],
        "delivery-mids.json": [
            event(.delivery(Delivery(watermark: t0 + 12100, mids: ["m_Page-echo-0001", "m_Page-echo-0003"])), at: 14000)
        ],
        "delivery-watermark-only.json": [event(.delivery(Delivery(watermark: t0 + 12100)), at: 14100)],
        "read.json": [event(.read(Read(watermark: t0 + 12100)), at: 15000)],
        "reaction-react.json": [
            event(.reaction(Reaction(mid: "m_Page-echo-0001", action: .react, reaction: "love", emoji: "❤")), at: 16000)
        ],
        "reaction-unreact.json": [event(.reaction(Reaction(mid: "m_Page-echo-0001", action: .unreact)), at: 16100)],
        "message-edit.json": [
            event(
                .messageEdit(
                    MessageEdit(mid: "m_AbC1-text-0001", text: "Hi! Is the navy jacket still in stock?", numberOfEdits: 1)
                ),
                at: 17000
            )
        ],
        "referral.json": [
            event(.referral(Referral(ref: "qr-store-window", source: "SHORTLINK", type: "OPEN_THREAD")), at: 18000)
        ],
        "optin.json": [
            event(
                .optin(
                    Optin(
                        type: "notification_messages",
                        payload: "RESTOCK_ALERTS",
                        notificationMessagesToken: "8713212401234567890"
                    )
                ),
                at: 19000
            )
        ],
        "standby-message.json": [
            event(
                .message(InboundMessage(mid: "m_AbC1-standby-0001", text: "Hello? (while another app owns the thread)")),
                at: 20000,
                channel: .standby
            )
        ],
        "standby-echo-and-postback.json": [
            event(
                .echo(Echo(mid: "m_Page-standby-echo-0001", appId: pageInbox, text: "Answered in Meta's inbox")),
                at: 20100,
                channel: .standby
            ),
            event(.postback(Postback(title: "Talk to a person")), at: 20120, channel: .standby),
        ],
        "handover-pass-thread-control.json": [
            event(
                .passThreadControl(
                    ThreadControl(
                        newOwnerAppId: ourApp,
                        previousOwnerAppId: pageInbox,
                        metadata: "handing back to the bot"
                    )
                ),
                at: 21000
            )
        ],
        "handover-take-thread-control.json": [
            event(
                .takeThreadControl(
                    ThreadControl(
                        newOwnerAppId: pageInbox,
                        previousOwnerAppId: ourApp,
                        metadata: "agent took over in Page Inbox"
                    )
                ),
                at: 21100
            )
        ],
        "handover-request-thread-control.json": [
            event(
                .requestThreadControl(
                    ThreadControl(requestedOwnerAppId: pageInbox, metadata: "please give me the thread")
                ),
                at: 21200
            )
        ],
        "batch-multi-entry.json": [
            text("m_batch-0001", "first", at: 30000),
            text("m_batch-0002", "second", at: 30010),
            event(.read(Read(watermark: t0 + 29000)), at: 30020, customer: "6234567890999999"),
            event(
                .echo(Echo(mid: "m_batch-echo-0001", appId: ourApp, metadata: "sb_out_01JDQ8", text: "third (echo)")),
                at: 30100,
                customer: "6234567890999999"
            ),
            event(
                .delivery(Delivery(watermark: t0 + 30100, mids: ["m_batch-echo-0001"])),
                at: 30110,
                customer: "6234567890999999"
            ),
            event(
                .message(InboundMessage(mid: "m_batch-standby-0001", text: "fifth (standby)")),
                at: 30120,
                customer: "6234567890999999",
                channel: .standby
            ),
            event(
                .reaction(Reaction(mid: "m_other-page-0001", action: .react, reaction: "like", emoji: "👍")),
                at: 30200,
                customer: "7234567890123456",
                page: "204123456789099"
            ),
        ],
        "batch-duplicate-mid.json": [
            text("m_AbC1-text-0001", "Hi! Is the blue jacket still in stock?", at: 0),
            text("m_AbC1-text-0001", "Hi! Is the blue jacket still in stock?", at: 0),
        ],
        "test-form-field-value.json": [
            WebhookEvent(
                pageId: "23245",
                customerId: "12334",
                timestamp: 1_527_459_824,
                channel: .messaging,
                payload: .message(InboundMessage(mid: "test_message_id", text: "test_message"))
            )
        ],
        "test-form-entry-changes.json": [
            WebhookEvent(
                pageId: "23245",
                customerId: "12334",
                timestamp: 1_527_459_824,
                channel: .messaging,
                payload: .postback(
                    Postback(mid: "test_postback_mid", title: "TITLE-FOR-THE-CTA", payload: "USER-DEFINED-PAYLOAD")
                )
            )
        ],
        "empty-entry.json": [],
    ]

    /// Fixtures whose events are `.unknown`: file → kinds in order.
    static let unknown: [String: [String]] = [
        "unknown-policy-enforcement.json": ["policy_enforcement"],
        "unknown-app-roles.json": ["app_roles"],
    ]

    /// Fixtures rejected as a whole: file → error code.
    static let rejected: [String: MessengerError.Code] = [
        "invalid-truncated.json": .bodyNotJSON,
        "invalid-not-json.json": .bodyNotJSON,
        "invalid-no-entry.json": .entryMissing,
        "invalid-array-root.json": .entryMissing,
        "invalid-object-instagram.json": .objectNotPage,
    ]

    static let specialCases: Set<String> = ["batch-with-malformed-event.json"]

    @Test func everyFixtureHasAnExpectation() throws {
        let names = try Fixtures.allWebhookNames()
        #expect(names.count >= 40)
        let described = Set(Self.exact.keys).union(Self.unknown.keys).union(Self.rejected.keys).union(Self.specialCases)
        #expect(Set(names).subtracting(described).sorted() == [])
        #expect(described.subtracting(names).sorted() == [])
    }

    @Test(arguments: exact.keys.sorted())
    func decodesExactly(_ name: String) throws {
        let events = try WebhookBatch.decode(try Fixtures.webhook(name))
        let expected = try #require(Self.exact[name])
        #expect(events.count == expected.count)
        for (actual, wanted) in zip(events, expected) {
            #expect(actual == wanted)
        }
    }

    @Test(arguments: unknown.keys.sorted())
    func keepsUnknownKinds(_ name: String) throws {
        let events = try WebhookBatch.decode(try Fixtures.webhook(name))
        let kinds = events.compactMap { event -> String? in
            if case .unknown(let kind, let json) = event.payload {
                #expect(json.contains("\"\(kind)\""))
                #expect(json.contains("\"recipient\""))
                return kind
            }
            return nil
        }
        #expect(kinds == Self.unknown[name])
        #expect(events.allSatisfy { $0.pageId == Self.page && $0.customerId == "" })
    }

    @Test(arguments: rejected.keys.sorted())
    func rejectsWholeBody(_ name: String) throws {
        let bytes = try Fixtures.webhook(name)
        let error = #expect(throws: MessengerError.self) { try WebhookBatch.decode(bytes) }
        #expect(error?.code == Self.rejected[name])
    }

    @Test func malformedEventsDoNotLoseTheirSiblings() throws {
        let events = try WebhookBatch.decode(try Fixtures.webhook("batch-with-malformed-event.json"))
        #expect(events.count == 7)
        #expect(events.first == Self.text("m_mal-0001", "good before", at: 32000))
        #expect(events.last == Self.text("m_mal-0003", "good after", at: 32050))
        let reasons = events.dropFirst().dropLast().map { event -> String in
            guard case .malformed(let reason, let json) = event.payload else { return "not malformed" }
            #expect(!json.isEmpty)
            return reason
        }
        #expect(
            reasons == [
                "The message has no mid.", "The delivery has no watermark.", "The event has no sender.id.",
                "The event is not a JSON object.", "The reaction's action is not react or unreact.",
            ]
        )
        #expect(events[1].customerId == Self.psid)
        #expect(events[1].timestamp == Self.t0 + 32010)
    }

    @Test func payloadMidAndKind() throws {
        let events = try WebhookBatch.decode(try Fixtures.webhook("batch-multi-entry.json"))
        #expect(
            events.map(\.payload.mid) == ["m_batch-0001", "m_batch-0002", nil, "m_batch-echo-0001", nil, "m_batch-standby-0001", "m_other-page-0001"]
        )
        #expect(
            events.map(\.payload.kind) == [
                "messages", "messages", "message_reads", "message_echoes", "message_deliveries", "messages", "message_reactions",
            ]
        )
    }

    @Test func decodesFromStringAndBuffer() throws {
        let bytes = try Fixtures.webhook("message-text.json")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(try WebhookBatch.decode(text) == WebhookBatch.decode(bytes))
    }
}
