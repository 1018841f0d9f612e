import Foundation
public import Logging
import Messenger
import Metrics
public import SwitchboardCore

/// How the sender retries, waits for echoes and waits for a Page's new token.
public struct OutboundSenderConfiguration: Sendable {
    /// After an ambiguous failure (timeout or reset after the request was written), how long
    /// to wait for the echo carrying our id before sending again (invariant 5).
    public var echoWait: Duration
    /// Backoff with jitter for retryable Graph errors.
    public var backoff: Backoff
    /// Retryable failures after which the message fails for good.
    public var maxRetryableAttempts: Int
    /// How often a send of a Page that needs a new token looks again (a saved token
    /// resumes the sends at once).
    public var reauthorizationRecheck: Duration
    /// Rate-limit waits up to this long happen in place; longer ones reschedule the job.
    public var maxInlineRateWait: Duration

    public init(
        echoWait: Duration = .seconds(10),
        backoff: Backoff = Backoff(base: .seconds(1), cap: .seconds(120)),
        maxRetryableAttempts: Int = 10,
        reauthorizationRecheck: Duration = .seconds(60),
        maxInlineRateWait: Duration = .seconds(1)
    ) {
        self.echoWait = echoWait
        self.backoff = backoff
        self.maxRetryableAttempts = maxRetryableAttempts
        self.reauthorizationRecheck = reauthorizationRecheck
        self.maxInlineRateWait = maxInlineRateWait
    }
}

/// The one worker path that sends outbound messages (`message.send` jobs).
///
/// The queue keeps each conversation's sends in order (a retried job keeps its place at
/// the head of its partition, invariant 4). Before calling Meta it applies the windows
/// (invariant 7) and the Page's rate limit; afterwards it classifies failures by code
/// (invariant 5): retryable ones back off with jitter, ambiguous ones wait for the echo
/// before sending again, terminal ones fail the message with a sentence, 190 parks the
/// Page's sends until a new token is saved. The token is opened only here, only for the
/// call, and is never logged (invariant 8).
public struct OutboundSender: JobHandler {
    let store: any OutboundStore
    let queue: any JobQueue
    let graph: any OutboundGraph
    let box: SecretBox
    let publisher: any EventPublisher
    let pacer: any OutboundPacer
    let clock: any WallClock
    let configuration: OutboundSenderConfiguration
    let logger: Logger

    public init(
        store: any OutboundStore,
        queue: any JobQueue,
        graph: any OutboundGraph,
        box: SecretBox,
        publisher: any EventPublisher,
        pacer: any OutboundPacer,
        clock: any WallClock,
        configuration: OutboundSenderConfiguration = .init(),
        logger: Logger
    ) {
        self.store = store
        self.queue = queue
        self.graph = graph
        self.box = box
        self.publisher = publisher
        self.pacer = pacer
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
    }

    /// The sender acknowledges, retries or fails its jobs itself (a retry keeps the job at
    /// the head of its conversation), so the worker must not complete them.
    public var completesJob: Bool { true }

    @discardableResult
    public func handle(_ job: Job) async throws -> JobDisposition {
        let messageId = String(decoding: job.payload, as: UTF8.self)
        guard let context = try await store.outboundSendContext(messageId: messageId) else {
            try await queue.complete(job)
            return .finished
        }
        let message = context.message
        // Already sent (the echo of an earlier, ambiguous attempt arrived) or already
        // failed: nothing to send, never twice.
        guard message.status == .queued, message.facebookMessageId == nil else {
            if message.status != .queued { count("already_done") } else { count("echo_reconciled") }
            try await queue.complete(job)
            return .finished
        }
        // A job handed straight from the transaction that queued the message finds its own
        // mark, written there (`Job.handedOff`); any other delivery that finds one follows
        // an attempt that may have reached Meta.
        let premarked = job.handedOff && context.sendStartedAt != nil
        if context.sendStartedAt != nil && !premarked {
            // An earlier attempt called Meta and its outcome was never recorded (the
            // process died mid-call): Meta may have sent it. Wait once for the echo with
            // our id; if it does not come, the next attempt sends (invariant 5).
            count("crash_echo_wait")
            try await retry(job, after: configuration.echoWait, reason: "an earlier attempt's outcome is unknown; waiting for Meta's echo")
            try await store.endSendAttempt(messageId: messageId)
            return .deferred
        }
        if context.contactUnreachableAt != nil {
            try await fail(job, messageId, Self.contactUnreachable)
            return .finished
        }
        guard let page = context.page, let sealed = page.sealedAccessToken else {
            try await fail(
                job,
                messageId,
                MessageError(
                    code: nil,
                    subcode: nil,
                    message: "The Page of this conversation is not connected to Switchboard.",
                    kind: "page.not_connected"
                )
            )
            return .finished
        }
        if page.state == .reauthorizationRequired {
            return try await postpone(
                job,
                messageId,
                premarked,
                after: configuration.reauthorizationRecheck,
                reason: "the Page needs a new access token"
            )
        }
        let token: PageAccessToken
        do {
            token = PageAccessToken(try box.open(sealed))
        } catch {
            try await store.markPageReauthorizationRequired(pageId: page.id, reason: String(describing: error))
            return try await postpone(
                job,
                messageId,
                premarked,
                after: configuration.reauthorizationRecheck,
                reason: "the Page's token cannot be opened"
            )
        }

        let author: AuthorKind = message.author == .agent ? .human : .automation
        let lastInbound = context.lastInboundAt.map { Date(millisecondsSince1970: $0) }
        let messagingType: MessagingType
        switch MessagingWindow.decide(lastInboundAt: lastInbound, now: clock.now(), author: author) {
        case .allowed(let type): messagingType = type
        case .refused(let refusal):
            try await fail(job, messageId, MessageError(code: nil, subcode: nil, message: refusal.reason, kind: refusal.rawValue))
            return .finished
        }

        let request = Self.request(for: context, messagingType: messagingType)
        let sendClass: PageSendClass =
            if case .attachment(let type, _) = request.content, type.isMedia { .media } else { .standard }
        if let wait = try await pacer.acquire(page: page.id, class: sendClass, waitingAtMost: configuration.maxInlineRateWait) {
            return try await postpone(job, messageId, premarked, after: wait, reason: "the Page is paused or over its rate")
        }

        let requestedAt = clock.now().millisecondsSince1970
        if !premarked { try await store.beginSendAttempt(messageId: messageId) }
        let outcome: Result<SendResult, GraphError>
        do {
            outcome = .success(try await graph.send(pageId: page.id, token: token, request: request))
        } catch {
            outcome = .failure(error)
        }
        let writtenAt =
            switch outcome {
            case .success(let result): result.requestWrittenAt
            case .failure(let error): error.requestWrittenAt
            }
        await pacer.finished(page: page.id, class: sendClass, writtenAgo: writtenAt.map { $0.duration(to: .now) })
        switch outcome {
        case .success(let result):
            await pacer.record(usage: result.usage, page: page.id)
            let events = try await store.markOutboundSent(
                messageId: messageId,
                mid: result.messageId,
                requestedAt: requestedAt,
                completing: job
            )
            count("sent")
            Recorder(label: "switchboard_send_latency_seconds").record(clock.now().timeIntervalSince(job.enqueuedAt))
            await publisher.publish(events)
            return .finished
        case .failure(let error):
            await pacer.record(usage: error.usage, page: page.id)
            return try await handleFailure(error, job: job, messageId: messageId, pageId: page.id)
        }
    }

    private func handleFailure(_ error: GraphError, job: Job, messageId: String, pageId: String) async throws -> JobDisposition {
        let failure = GraphErrorClassifier.classify(error)
        let body = error.body
        let messageError = MessageError(
            code: body?.code,
            subcode: body?.subcode,
            message: failure.reason,
            fbtraceId: body?.fbtraceId,
            kind: failure.code
        )
        logger.notice(
            "send failed",
            metadata: [
                "message": "\(messageId)", "page": "\(pageId)", "action": "\(failure.action.rawValue)", "code": "\(failure.code)",
                "graph_code": "\(body?.code ?? 0)", "graph_subcode": "\(body?.subcode ?? 0)", "fbtrace_id": "\(body?.fbtraceId ?? "-")",
                "attempt": "\(job.attempt)",
            ]
        )
        if failure.action == .retry && failure.isAmbiguous && job.attempt < configuration.maxRetryableAttempts {
            // Meta may have sent it: wait for the echo with our id; the next attempt finds
            // the mid and stops, or sends again if none came. The wait is scheduled before
            // the attempt's mark is cleared, so a crash in between only waits twice.
            count("ambiguous")
            try await retry(job, after: configuration.echoWait, reason: failure.reason)
            try await store.endSendAttempt(messageId: messageId)
            return .deferred
        }
        // Meta answered: it did not send the message. Cleared before the job is
        // rescheduled, so the next attempt's mark is never erased by this one.
        try await store.endSendAttempt(messageId: messageId)
        switch failure.action {
        case .retry:
            if job.attempt >= configuration.maxRetryableAttempts {
                return try await fail(job, messageId, messageError)
            } else {
                count("retry")
                return try await retry(
                    job,
                    after: configuration.backoff.delay(attempt: job.attempt, jitter: Double.random(in: 0...1)),
                    reason: failure.reason
                )
            }
        case .pausePage:
            let pause = failure.pauseFor ?? GraphErrorClassifier.defaultPagePause
            await pacer.pause(page: pageId, for: pause)
            count("page_paused")
            return try await retry(job, after: pause, reason: failure.reason)
        case .reauthorize:
            try await store.markPageReauthorizationRequired(pageId: pageId, reason: failure.reason)
            count("reauthorization_required")
            return try await retry(job, after: configuration.reauthorizationRecheck, reason: failure.reason)
        case .recipientUnreachable:
            return try await fail(job, messageId, messageError, contactUnreachable: true)
        case .windowClosed, .fail:
            return try await fail(job, messageId, messageError)
        }
    }

    /// Puts the job back for `delay` before Meta was called. A mark written for this
    /// delivery is cleared after the job is rescheduled (so a crash in between only costs
    /// an echo wait): the next attempt must not take it for a call that happened.
    private func postpone(_ job: Job, _ messageId: String, _ premarked: Bool, after delay: Duration, reason: String) async throws -> JobDisposition {
        try await retry(job, after: delay, reason: reason)
        if premarked { try await store.endSendAttempt(messageId: messageId) }
        return .deferred
    }

    /// Puts the job back for `delay`, at the head of its conversation.
    @discardableResult
    private func retry(_ job: Job, after delay: Duration, reason: String) async throws -> JobDisposition {
        try await queue.fail(job, reason: reason, retryAt: clock.now().addingTimeInterval(delay.seconds))
        return .deferred
    }

    /// Fails the message for good (the job completes with it): the next one goes on.
    @discardableResult
    private func fail(_ job: Job, _ messageId: String, _ error: MessageError, contactUnreachable: Bool = false) async throws -> JobDisposition {
        let events = try await store.markOutboundFailed(
            messageId: messageId,
            error: error,
            contactUnreachable: contactUnreachable,
            completing: job
        )
        count("failed")
        await publisher.publish(events)
        return .finished
    }

    /// Why a message to a customer Meta called unreachable fails without a call.
    static let contactUnreachable = MessageError(
        code: nil,
        subcode: nil,
        message:
            "This person can't receive messages from the Page right now (they may have blocked it or deactivated their account), so the reply was not sent. Sending works again once they write to the Page.",
        kind: SwitchboardError.Code.contactUnreachable.rawValue
    )

    private func count(_ outcome: String) {
        Counter(label: "switchboard_sends_total", dimensions: [("outcome", outcome)]).increment()
    }

    /// The Send API request for a stored message: our id in `metadata` (for the echo),
    /// the window's `messaging_type` and tag.
    static func request(for context: OutboundSendContext, messagingType: MessagingType) -> SendRequest {
        let message = context.message
        let content: OutboundContent
        if let attachment = message.attachments.first, let url = attachment.url {
            content = .attachment(type: OutboundAttachmentType(rawValue: attachment.type) ?? .file, url: url)
        } else {
            content = .text(message.text ?? "")
        }
        return SendRequest(
            recipientPSID: context.psid,
            messagingType: messagingType,
            content: content,
            quickReplies: context.quickReplies.map { QuickReply(title: $0.title, payload: $0.payload, imageURL: $0.imageUrl) },
            metadata: message.id,
            replyToMid: message.replyToMid
        )
    }
}
