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

/// Splits a stored webhook into per-conversation `inbound.apply` jobs, partitioned by
/// conversation so each conversation's events apply in order (invariant 4) while
/// different conversations apply in parallel. Events the worker does not apply are kept.
public struct SplitWebhookHandler: JobHandler {
    let store: any Store
    let logger: Logger

    public init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public var completesJob: Bool { true }

    public func handle(_ job: Job) async throws {
        guard let id = Int64(String(decoding: job.payload, as: UTF8.self)) else {
            throw PermanentJobFailure("the split job's payload is not a webhook id")
        }
        guard let body = try await store.webhookBody(id: id) else {
            throw PermanentJobFailure("webhook \(id) is not stored")
        }
        let events: [WebhookEvent]
        do {
            events = try WebhookBatch.decode(body)
        } catch {
            // Signed by Meta but unreadable: keep it, say why, count it, move on.
            logger.warning("stored webhook is not a Messenger batch", metadata: ["webhook": "\(id)", "error": "\(error)"])
            Counter(label: "switchboard_webhook_events_total", dimensions: [("type", "undecodable_body")]).increment()
            try await store.finishWebhookSplit(id: id, eventCount: 0, jobs: [], unhandled: [], error: "\(error)", splitJob: job)
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
            let key = Self.partition(pageId: event.pageId, psid: event.customerId)
            if groups[key] == nil {
                groups[key] = ApplyInboundPayload(webhook: id, pageId: event.pageId, psid: event.customerId, indices: [])
                order.append(key)
            }
            groups[key]?.indices.append(index)
        }
        let encoder = JSONEncoder()
        let jobs = try order.map { key in
            NewJob(kind: .applyInbound, partition: key, payload: Array(try encoder.encode(groups[key]!)), maxAttempts: 10)
        }
        try await store.finishWebhookSplit(id: id, eventCount: events.count, jobs: jobs, unhandled: unhandled, error: nil, splitJob: job)
    }

    /// The queue partition of a conversation: its Page and customer.
    static func partition(pageId: String, psid: String) -> String { "conv:\(pageId):\(psid)" }
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

    public func handle(_ job: Job) async throws {
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
            try await queue.enqueue([
                NewJob(kind: .fetchProfile, partition: nil, payload: Array(String(outcome.contactId).utf8), maxAttempts: 5)
            ])
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

    public func handle(_ job: Job) async throws {
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
            if error is PermanentJobFailure || job.attempt >= job.maxAttempts {
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
