import Foundation
public import Logging
import Messenger
import Metrics
public import SwitchboardCore

/// The payload of an `inbound.apply` job: which events of which stored webhook belong to
/// one conversation. The job points at the stored row (invariant 2: the queue is never
/// the only copy).
struct ApplyInboundPayload: Codable {
    var webhook: Int64
    var pageId: String
    var psid: String
    var indices: [Int]
}

/// Splits stored webhooks by conversation and applies them (invariant 4: a
/// conversation's events in order, different conversations at once).
///
/// Split jobs share one partition, so webhooks are split in arrival order; under load the
/// worker hands over a run of them. With an `applier`, the run's conversations are applied
/// right here, in the transaction that completes the split jobs: one commit for a whole
/// backlog. A conversation that already has `inbound.apply` jobs waiting gets its share
/// queued behind them instead, and so does everything when no applier is given or the
/// inline apply of a lone webhook fails (the apply jobs then isolate and retry each
/// conversation on its own). Events the worker does not apply are kept. A run whose bodies
/// are too large to hold at once is handled in parts, each committed on its own: should a
/// later part fail, the worker's one-by-one rerun finds the earlier ones applied
/// (invariant 3).
public struct SplitWebhookHandler: JobRunHandler {
    let store: any Store
    let logger: Logger
    let applier: ApplyInboundHandler?
    let bytesPerPart: Int
    let maxBodyBytes: Int
    let givingWay: @Sendable () -> Bool

    /// - Parameters:
    ///   - applier: applies runs inline and does what follows each commit; nil: every
    ///     conversation's share becomes an `inbound.apply` job.
    ///   - bytesPerPart: the most body bytes a run holds in memory at once: a long run of
    ///     ordinary webhooks (a few kilobytes each) is split and applied together, a run of
    ///     large ones in parts.
    ///   - maxBodyBytes: the largest body the webhook accepts; a run that cannot exceed a
    ///     part is not measured first.
    ///   - givingWay: while true, a run is applied in one transaction, never side by side
    ///     (``ShareApplication``): ingest gives way to acknowledgements.
    public init(
        store: any Store,
        logger: Logger,
        applier: ApplyInboundHandler? = nil,
        bytesPerPart: Int = 16 << 20,
        maxBodyBytes: Int = 5 << 20,
        givingWay: @escaping @Sendable () -> Bool = { false }
    ) {
        self.store = store
        self.logger = logger
        self.applier = applier
        self.bytesPerPart = bytesPerPart
        self.maxBodyBytes = maxBodyBytes
        self.givingWay = givingWay
    }

    public var completesJob: Bool { true }

    @discardableResult
    public func handle(_ job: Job) async throws -> JobDisposition {
        try await handleRun([job])
        return .finished
    }

    public func handleRun(_ jobs: [Job]) async throws {
        let ids = try jobs.map { job in
            guard let id = Int64(String(decoding: job.payload, as: UTF8.self)) else {
                throw PermanentJobFailure("the split job's payload is not a webhook id")
            }
            return id
        }
        guard ids.count > 1, ids.count > bytesPerPart / max(1, maxBodyBytes) else { return try await handlePart(ids, jobs) }
        let sizes = try await store.webhookSizes(ids: ids)
        var start = 0
        var bytes = 0
        for (index, id) in ids.enumerated() {
            let size = sizes[id] ?? 0
            if index > start, bytes + size > bytesPerPart {
                try await handlePart(Array(ids[start..<index]), Array(jobs[start..<index]))
                start = index
                bytes = 0
            }
            bytes += size
        }
        try await handlePart(Array(ids[start...]), Array(jobs[start...]))
    }

    private func handlePart(_ ids: [Int64], _ jobs: [Job]) async throws {
        let bodies = try await store.webhookBodies(ids: ids)
        var plan = RunPlan(ourAppId: applier?.ourAppId)
        for (id, job) in zip(ids, jobs) {
            guard let body = bodies[id] else { throw PermanentJobFailure("webhook \(id) is not stored") }
            plan.add(webhook: id, body: body, job: job, logger: logger)
        }
        if let applier {
            do {
                let outcomes = try await store.recordWebhookRun(plan.webhooks, plan.shares, applying: .inline(sideBySide: !givingWay()))
                for (share, outcome) in zip(plan.shares, outcomes) {
                    if let outcome { await applier.finish(outcome, events: share.batch.events) }
                }
                return
            } catch  where jobs.count == 1 {
                logger.notice(
                    "applying a webhook at once failed; queueing its conversations",
                    metadata: ["webhook": "\(ids[0])", "error": "\(error)"]
                )
            }
        }
        _ = try await store.recordWebhookRun(plan.webhooks, plan.shares, applying: .queued)
    }

    /// The queue partition of a conversation: its Page and customer.
    static func partition(pageId: String, psid: String) -> String { "conv:\(pageId):\(psid)" }

    /// What a run of webhooks divides into: per conversation (in order of first
    /// appearance) its events from every webhook of the run and one apply job per
    /// webhook; and per webhook what is kept unapplied.
    struct RunPlan {
        let ourAppId: String?
        var webhooks: [SplitWebhook] = []
        var shares: [ConversationShare] = []
        private var shareIndex: [String: Int] = [:]
        private let encoder = CompactJSONEncoder()

        init(ourAppId: String?) { self.ourAppId = ourAppId }

        mutating func add(webhook id: Int64, body: [UInt8], job: Job, logger: Logger) {
            let events: [WebhookEvent]
            do {
                events = try WebhookBatch.decode(body)
            } catch {
                // Signed by Meta but unreadable: keep it, say why, count it, move on.
                logger.warning("stored webhook is not a Messenger batch", metadata: ["webhook": "\(id)", "error": "\(error)"])
                Counter(label: "switchboard_webhook_events_total", dimensions: [("type", "undecodable_body")]).increment()
                webhooks.append(SplitWebhook(id: id, eventCount: 0, unhandled: [], error: "\(error)", job: job))
                return
            }
            var groups: [String: ApplyInboundPayload] = [:]
            var order: [String] = []
            var unhandled: [UnhandledEvent] = []
            for (index, event) in events.enumerated() {
                if let kept = UnhandledEvent(event, index: index) {
                    unhandled.append(kept)
                    Counter(label: "switchboard_webhook_events_total", dimensions: [("type", "unhandled_\(kept.kind)")]).increment()
                    continue
                }
                guard !event.customerId.isEmpty else {
                    unhandled.append(
                        UnhandledEvent(index: index, pageId: event.pageId, kind: "no_customer", reason: "the event names no customer", json: "{}")
                    )
                    continue
                }
                let key = SplitWebhookHandler.partition(pageId: event.pageId, psid: event.customerId)
                if groups[key] == nil {
                    groups[key] = ApplyInboundPayload(webhook: id, pageId: event.pageId, psid: event.customerId, indices: [])
                    order.append(key)
                }
                groups[key]?.indices.append(index)
            }
            webhooks.append(SplitWebhook(id: id, eventCount: events.count, unhandled: unhandled, error: nil, job: job))
            for key in order {
                guard let group = groups[key] else { continue }
                let shareEvents = group.indices.map { events[$0] }
                // An ApplyInboundPayload always encodes.
                let job = NewJob(kind: .applyInbound, partition: key, payload: (try? encoder.encode(group)) ?? [], maxAttempts: 10)
                if let at = shareIndex[key] {
                    shares[at].batch = InboundBatch(
                        pageId: group.pageId,
                        psid: group.psid,
                        events: shares[at].batch.events + shareEvents,
                        ourAppId: ourAppId
                    )
                    shares[at].jobs.append(job)
                } else {
                    shareIndex[key] = shares.count
                    shares.append(
                        ConversationShare(
                            partition: key,
                            batch: InboundBatch(pageId: group.pageId, psid: group.psid, events: shareEvents, ourAppId: ourAppId),
                            jobs: [job]
                        )
                    )
                }
            }
        }
    }
}

/// Applies one conversation's events, then publishes what changed (after commit,
/// invariant 6) and asks for the contact's profile when it has none.
public struct ApplyInboundHandler: JobHandler {
    let store: any Store
    let queue: any JobQueue
    let publisher: any EventPublisher
    let ourAppId: String?
    let logger: Logger
    /// Counts what the bot decided in the apply's transaction (nil: not counted here).
    let bot: BotConversations?

    public init(
        store: any Store,
        queue: any JobQueue,
        publisher: any EventPublisher,
        ourAppId: String?,
        logger: Logger,
        bot: BotConversations? = nil
    ) {
        self.store = store
        self.queue = queue
        self.publisher = publisher
        self.ourAppId = ourAppId
        self.logger = logger
        self.bot = bot
    }

    public var completesJob: Bool { true }

    @discardableResult
    public func handle(_ job: Job) async throws -> JobDisposition {
        try await apply(job)
        return .finished
    }

    private func apply(_ job: Job) async throws {
        let payload: ApplyInboundPayload
        do {
            payload = try JSONDecoder().decode(ApplyInboundPayload.self, from: Data(job.payload))
        } catch {
            throw PermanentJobFailure("the apply job's payload is unreadable: \(error)")
        }
        guard let body = try await store.webhookBody(id: payload.webhook) else {
            throw PermanentJobFailure("webhook \(payload.webhook) is not stored")
        }
        let all = try WebhookBatch.decode(body)
        let events = payload.indices.compactMap { all.indices.contains($0) ? all[$0] : nil }
        let outcome = try await store.applyInbound(
            InboundBatch(pageId: payload.pageId, psid: payload.psid, events: events, ourAppId: ourAppId),
            completing: job
        )
        await finish(outcome, events: events)
    }

    /// What follows an apply's commit: metrics, the realtime events (after commit,
    /// invariant 6), the bot, and the contact's profile when it has none.
    func finish(_ outcome: InboundOutcome, events: [WebhookEvent]) async {
        for (kind, count) in outcome.applied {
            Counter(label: "switchboard_events_applied_total", dimensions: [("type", kind)]).increment(by: count)
        }
        if outcome.duplicates > 0 {
            Counter(label: "switchboard_events_applied_total", dimensions: [("type", "duplicate")]).increment(by: outcome.duplicates)
        }
        let receivedLag = events.map { Double(Date().millisecondsSince1970 - $0.timestamp) / 1000 }
        for lag in receivedLag where lag >= 0 {
            Recorder(label: "switchboard_event_apply_lag_seconds").record(lag)
        }
        await publisher.publish(outcome.realtime)
        if let fed = outcome.bot {
            // Stored with the apply and published above: log and count.
            await bot?.committed(fed, conversationId: outcome.conversationId, publish: false)
        }
        if outcome.needsProfile {
            do {
                try await queue.enqueue([
                    NewJob(kind: .fetchProfile, partition: nil, payload: Array(String(outcome.contactId).utf8), maxAttempts: 5)
                ])
            } catch {
                // The next message of this contact asks again (within the hour's bound).
                logger.warning("cannot queue a contact's profile lookup", metadata: ["contact": "\(outcome.contactId)", "error": "\(error)"])
            }
        }
    }
}

/// A customer's public profile as the Graph API gives it.
public struct ContactProfile: Sendable, Equatable {
    public var firstName: String?
    public var lastName: String?
    public var avatarURL: String?

    public init(firstName: String?, lastName: String?, avatarURL: String?) {
        self.firstName = firstName
        self.lastName = lastName
        self.avatarURL = avatarURL
    }

    public var name: String? {
        let joined = [firstName, lastName].compactMap { $0 }.joined(separator: " ")
        return joined.isEmpty ? nil : joined
    }
}

/// Looks up profiles (the Graph API in production, the emulator in tests and demos).
public protocol ProfileSource: Sendable {
    /// nil when the Graph API has no profile for this person (e.g. error 2018218);
    /// throws when the lookup failed and may work later.
    func profile(pageId: String, psid: String) async throws -> ContactProfile?
}

/// Fetches a contact's name and avatar. Runs apart from message ingestion, so a failing
/// profile call never blocks a message.
public struct FetchProfileHandler: JobHandler {
    let store: any Store
    let source: any ProfileSource
    let publisher: any EventPublisher
    let logger: Logger

    public init(store: any Store, source: any ProfileSource, publisher: any EventPublisher, logger: Logger) {
        self.store = store
        self.source = source
        self.publisher = publisher
        self.logger = logger
    }

    @discardableResult
    public func handle(_ job: Job) async throws -> JobDisposition {
        try await fetch(job)
        return .finished
    }

    private func fetch(_ job: Job) async throws {
        guard let contactId = Int64(String(decoding: job.payload, as: UTF8.self)),
            let key = try await store.contactKey(id: contactId)
        else { throw PermanentJobFailure("the profile job names no stored contact") }
        do {
            let profile = try await source.profile(pageId: key.pageId, psid: key.psid)
            let events = try await store.updateContactProfile(
                id: contactId,
                name: profile?.name,
                firstName: profile?.firstName,
                lastName: profile?.lastName,
                avatarURL: profile?.avatarURL,
                error: nil
            )
            await publisher.publish(events)
        } catch {
            if error is PermanentJobFailure || job.isLastAttempt {
                _ = try await store.updateContactProfile(
                    id: contactId,
                    name: nil,
                    firstName: nil,
                    lastName: nil,
                    avatarURL: nil,
                    error: String(describing: error)
                )
                logger.notice("giving up on a contact's profile", metadata: ["contact": "\(contactId)", "error": "\(error)"])
                return
            }
            throw error
        }
    }
}
