import Foundation
public import Logging
public import SwitchboardCore

/// Feeds `BotPolicy` with what happens in conversations, through the store (which runs the
/// policy and stores its decisions in one transaction under the conversation's row lock),
/// then publishes the events after commit (invariant 6) and counts the handovers.
public struct BotConversations: Sendable {
    let store: any BotStore
    let publisher: any EventPublisher
    let clock: any WallClock
    let logger: Logger
    let metrics: BotMetrics

    public init(
        store: any BotStore,
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

    /// Feeds `events` to the conversation's policy. Returns nil when the Page's bot is off
    /// (nothing is stored then, so turning it on later starts fresh). `answer` is recorded
    /// in `bot_answers` with the same save; `durable` false for the answer job's own saves.
    @discardableResult
    public func feed(
        conversationId: String,
        _ events: [BotEvent],
        actor: String,
        answer: BotAnswerRecord? = nil,
        durable: Bool = true
    ) async throws -> BotFeedResult? {
        guard !events.isEmpty || answer != nil,
            let result = try await store.feedBot(conversationId: conversationId, events, actor: actor, answer: answer, durable: durable)
        else { return nil }
        await committed(result, conversationId: conversationId)
        return result
    }

    /// Queues the bot's reply if the conversation's bot state is still the one it was made
    /// for; returns whether it was queued.
    func queue(_ reply: BotReply) async throws -> Bool {
        guard let (result, queued) = try await store.queueBotReply(reply) else { return false }
        await committed(result, conversationId: reply.conversationId)
        if queued { metrics.replied(page: result.pageId) }
        return queued
    }

    /// After a feed committed (here or inside another transaction, like the inbound
    /// apply, whose caller publishes the events): log, publish, count.
    public func committed(_ result: BotFeedResult, conversationId: String, publish: Bool = true) async {
        for decision in result.plan.decisions {
            logger.debug("bot decision", metadata: ["conversation": "\(conversationId)", "reason": "\(decision.reason)"])
        }
        if publish { await publisher.publish(result.events) }
        for reason in result.plan.handovers { metrics.handedOver(page: result.pageId, reason: reason) }
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
}
