/// The inbox in numbers, for the Status screen (`GET /api/stats`): conversations by what
/// they need, messages since a moment (the start of the viewer's day), how long customers
/// waited for a first answer, and messages per hour for the trend.
public struct InboxStats: Codable, Sendable, Equatable {
    public struct Conversations: Codable, Sendable, Equatable {
        public var total: Int
        /// Not resolved.
        public var open: Int
        /// The customer wrote within 24 hours (the standard window is open).
        public var active: Int
        /// The customer's message is the last one, and a reply is still allowed (7 days).
        public var waiting: Int
        public var unread: Int
        /// The bot handed over (paused).
        public var needsHuman: Int
        public var unassigned: Int

        public init(total: Int, open: Int, active: Int, waiting: Int, unread: Int, needsHuman: Int, unassigned: Int) {
            self.total = total
            self.open = open
            self.active = active
            self.waiting = waiting
            self.unread = unread
            self.needsHuman = needsHuman
            self.unassigned = unassigned
        }
    }

    public struct Messages: Codable, Sendable, Equatable {
        public var inbound: Int
        /// Queued, sent, delivered or read.
        public var outbound: Int
        public var failed: Int

        public init(inbound: Int, outbound: Int, failed: Int) {
            self.inbound = inbound
            self.outbound = outbound
            self.failed = failed
        }

        enum CodingKeys: String, CodingKey {
            case inbound = "in"
            case outbound = "out"
            case failed
        }
    }

    /// From a customer message that found nobody owing an answer to the next reply.
    public struct FirstResponse: Codable, Sendable, Equatable {
        /// By anyone (the bot, an agent, Meta's inbox); nil with no answered wait.
        public var medianSeconds: Double?
        public var count: Int
        /// By a person (an agent or Meta's inbox): the bot's answers do not end these waits.
        public var humanMedianSeconds: Double?
        public var humanCount: Int

        public init(medianSeconds: Double?, count: Int, humanMedianSeconds: Double?, humanCount: Int) {
            self.medianSeconds = medianSeconds
            self.count = count
            self.humanMedianSeconds = humanMedianSeconds
            self.humanCount = humanCount
        }

        /// Measures the waits in one conversation's messages (oldest first): each customer
        /// message that arrives while no answer is owed starts a wait, the next reply that
        /// did not fail ends it.
        public struct Meter: Sendable {
            private var waitingSince: Int64?
            private var humanWaitingSince: Int64?
            public private(set) var waits: [Double] = []
            public private(set) var humanWaits: [Double] = []

            public init() {}

            /// A new conversation starts: a wait still open is never answered in this period.
            public mutating func nextConversation() {
                waitingSince = nil
                humanWaitingSince = nil
            }

            /// One message, `at` in milliseconds since 1970.
            public mutating func record(direction: MessageDirection, author: MessageAuthor, status: MessageStatus, at: Int64) {
                if direction == .inbound {
                    waitingSince = waitingSince ?? at
                    humanWaitingSince = humanWaitingSince ?? at
                    return
                }
                guard status != .failed else { return }
                if let start = waitingSince {
                    waits.append(Double(at - start) / 1000)
                    waitingSince = nil
                }
                if author == .agent || author == .otherApp, let start = humanWaitingSince {
                    humanWaits.append(Double(at - start) / 1000)
                    humanWaitingSince = nil
                }
            }

            public var result: FirstResponse {
                FirstResponse(
                    medianSeconds: Self.median(waits),
                    count: waits.count,
                    humanMedianSeconds: Self.median(humanWaits),
                    humanCount: humanWaits.count
                )
            }

            static func median(_ values: [Double]) -> Double? {
                guard !values.isEmpty else { return nil }
                let sorted = values.sorted()
                let middle = sorted.count / 2
                return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
            }
        }
    }

    /// Messages in one hour (`at` is its start).
    public struct Hour: Codable, Sendable, Equatable {
        public var at: String
        public var inbound: Int
        public var outbound: Int

        public init(at: String, inbound: Int, outbound: Int) {
            self.at = at
            self.inbound = inbound
            self.outbound = outbound
        }

        enum CodingKeys: String, CodingKey {
            case at
            case inbound = "in"
            case outbound = "out"
        }
    }

    public var since: String
    public var conversations: Conversations
    public var messages: Messages
    public var firstResponse: FirstResponse
    /// The last 24 hours, oldest first, one entry per hour (empty hours included).
    public var hourly: [Hour]

    public init(since: String, conversations: Conversations, messages: Messages, firstResponse: FirstResponse, hourly: [Hour]) {
        self.since = since
        self.conversations = conversations
        self.messages = messages
        self.firstResponse = firstResponse
        self.hourly = hourly
    }
}
