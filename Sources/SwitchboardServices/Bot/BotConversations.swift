public import Foundation
public import Logging
public import SwitchboardCore

/// Feeds `BotPolicy` with what happens in conversations and carries out what it decides
/// that needs no model: saves the state (compare-and-set, so concurrent feeds from the
/// inbound path, the answer job and the API never lose a pause), schedules the debounced
/// `bot.answer` job in the same transaction, queues the handover notice as the bot, and
/// publishes `conversation:bot` after commit (invariant 6).
public struct BotConversations: Sendable {
    let store: any BotStore & OutboundStore
    let publisher: any EventPublisher
    let clock: any WallClock
    let logger: Logger
    let metrics: BotMetrics

    /// Saves that lost the race are retried this many times before giving up (the job or
    /// request then fails and is retried as a whole).
    static let maxSaveAttempts = 8

    public init(
        store: any BotStore & OutboundStore,
        publisher: any EventPublisher,
        clock: any WallClock,
        logger: Logger,
        metrics: BotMetrics = BotMetrics()
    ) {
        self.metrics = metrics
        self.store = store
        self.publisher = publisher
        self.clock = clock
        self.logger = logger
    }

    /// What a feed decided, for the caller that acts on it (the answer job).
    public struct Result: Sendable, Equatable {
        /// The `.answer` the policy asked for, if any.
        public var answer: Answer?
        /// The state after the feed.
        public var state: BotConversationState
        public var decisions: [BotDecision]
    }

    /// The policy's `.answer(disclose:upTo:)`.
    public struct Answer: Sendable, Equatable {
        public var disclose: Bool
        public var upTo: Date
    }

    /// Feeds `events` to the conversation's policy. Returns nil when the Page's bot is off
    /// (nothing is stored then, so turning it on later starts fresh).
    @discardableResult
    public func feed(conversationId: String, _ events: [BotEvent], actor: String) async throws -> Result? {
        guard !events.isEmpty else { return nil }
        for _ in 0..<Self.maxSaveAttempts {
            guard let record = try await store.botConversation(id: conversationId) else {
                throw SwitchboardError(.conversationNotFound, "No conversation has the id \(conversationId).")
            }
            guard let page = try await store.botSettings(pageId: record.pageId), page.enabled else { return nil }
            var policy = BotPolicy(configuration: page.settings.policy, state: record.state)
            let now = clock.now()
            var decisions: [BotDecision] = []
            var changes: [BotStateChange] = []
            var jobs: [NewJob] = []
            var answer: Answer?
            var notice = false
            for event in events {
                let decision = policy.handle(event, now: now)
                decisions.append(decision)
                if let transition = decision.transition { changes.append(BotStateChange(transition, actor: actor)) }
                switch decision.action {
                case .none: break
                case .wait(let until):
                    jobs.append(
                        NewJob(
                            kind: .botAnswer,
                            partition: JobKind.botPartition(conversationId: conversationId),
                            payload: Array(conversationId.utf8),
                            maxAttempts: 5,
                            runAt: until
                        )
                    )
                case .answer(let disclose, let upTo): answer = Answer(disclose: disclose, upTo: upTo)
                case .sendHandoverNotice: notice = true
                }
            }
            guard
                let published = try await store.saveBotState(
                    conversationId: conversationId,
                    expectedVersion: record.version,
                    state: policy.state,
                    changes: changes,
                    jobs: jobs
                )
            else { continue }
            for decision in decisions {
                logger.debug("bot decision", metadata: ["conversation": "\(conversationId)", "reason": "\(decision.reason)"])
            }
            await publisher.publish(published)
            for decision in decisions {
                if case .paused(let reason) = decision.transition { metrics.handedOver(page: record.pageId, reason: reason) }
            }
            if notice {
                // Keyed by the saved version: a retried feed queues the same notice once.
                try await queueBotMessage(
                    conversationId: conversationId,
                    text: page.settings.texts.notice(for: policy.state.pauseReason ?? .noAnswer),
                    clientId: "bot-notice:\(conversationId):\(record.version + 1)"
                )
            }
            return Result(answer: answer, state: policy.state, decisions: decisions)
        }
        throw SwitchboardError(.conflict, "The bot state of conversation \(conversationId) kept changing; try again.")
    }

    /// An agent queued a reply: the bot stops for this conversation now, not only when the
    /// echo comes back (the Send API's answer usually lands first, and then the echo finds
    /// the message already sent). Best effort: the reply itself must not fail for the bot.
    public func agentWrote(conversationId: String, actor: String) async {
        do {
            try await feed(conversationId: conversationId, [.agentMessage(at: clock.now())], actor: actor)
        } catch {
            logger.error("the bot could not take an agent's reply", metadata: ["conversation": "\(conversationId)", "error": "\(error)"])
        }
    }

    /// Queues a message written by the bot through the outbound path (the sender applies the
    /// window rules for automation: never HUMAN_AGENT) and publishes its events.
    @discardableResult
    func queueBotMessage(conversationId: String, text: String, clientId: String) async throws -> Bool {
        let queued = try await store.enqueueOutbound(OutboundDraft(conversationId: conversationId, text: text, clientId: clientId, author: .bot))
        await publisher.publish(queued.events)
        return queued.created
    }
}
