@_spi(GraphEmulator) internal import Messenger
import Synchronization

/// The webhooks Meta sends after a send (echo, then delivery, then read), queued in order
/// and posted by `GraphEmulator.runOutbox()`, each once its delay after the one before it
/// has passed (the sends' receipts do not wait for each other). What is due together goes
/// in one POST, as Meta aggregates notifications (messenger-platform.md §2.3), so receipts
/// keep up with sends however fast they go.
final class WebhookOutbox: Sendable {
    struct Job: Sendable {
        /// `echo`, `delivery`, `read`.
        var kind: String
        var pageId: String
        /// After the previous receipt of the same send (after the send, for the first).
        var delay: Duration
        /// Builds the event at posting time (the emulator clock's ms).
        var event: @Sendable (_ now: Int64) -> JSONValue
    }

    /// Meta's ceiling on the updates in one POST.
    static let maxEventsPerPost = 1000

    private let pending = Mutex<[(job: Job, due: ContinuousClock.Instant)]>([])
    /// Queued or being posted: what a benchmark waits for before it counts the ticks.
    let unposted = Atomic<Int>(0)
    /// Rung after each enqueue; holds one ring, so none is lost while the poster is busy.
    fileprivate let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    init() {
        (doorbell, ring) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues one send's receipts, in order.
    func enqueue(_ jobs: [Job]) {
        var due = ContinuousClock.now
        let timed = jobs.map { job in
            due += job.delay
            return (job, due)
        }
        unposted.add(jobs.count, ordering: .relaxed)
        pending.withLock { $0 += timed }
        ring.yield()
    }

    /// The next batch, once the first queued job is due: it and the jobs right behind it
    /// that are due too (in order: one not due yet ends the batch), up to a POST's
    /// ceiling. Empty when nothing is queued. One caller at a time.
    fileprivate func nextBatch() async throws -> [Job] {
        guard let first = pending.withLock({ $0.first }) else { return [] }
        try await Task.sleep(until: first.due, clock: .continuous)
        let now = ContinuousClock.now
        return pending.withLock { pending in
            var count = 1
            while count < min(pending.count, Self.maxEventsPerPost), pending[count].due <= now { count += 1 }
            defer { pending.removeFirst(count) }
            return pending.prefix(count).map(\.job)
        }
    }
}

extension GraphEmulator {
    /// Posts queued webhooks until cancelled. Runs inside `GraphEmulatorService` and the
    /// application `GraphEmulatorServer.build` returns; only one may run at a time.
    func runOutbox() async {
        for await _ in outbox.doorbell {
            while true {
                guard let batch = try? await outbox.nextBatch() else { return }
                if batch.isEmpty { break }
                let now = clock.nowMilliseconds
                let body = WebhookBuilder.body(pagesAndEvents: batch.map { ($0.pageId, $0.event(now)) }, time: now)
                _ = await postWebhook(body, kind: Set(batch.map(\.kind)).sorted().joined(separator: "+"))
                outbox.unposted.subtract(batch.count, ordering: .relaxed)
                if Task.isCancelled { return }
            }
        }
    }

    /// Queues echo → delivery → read for a message the customer just received, in the
    /// configured `receiptOrder`. `appId` is the sending app (ours unless Meta's Page Inbox
    /// answered).
    func enqueueReceipts(pageId: String, psid: String, message: ReceivedMessage, reads: Bool, appId: String? = nil) {
        let configuration = self.configuration
        let appId = appId ?? configuration.appId
        let echo = WebhookOutbox.Job(kind: "echo", pageId: pageId, delay: configuration.echoDelay) { _ in
            WebhookBuilder.echo(page: pageId, psid: psid, timestamp: message.timestamp, appId: appId, message: message)
        }
        let delivery = WebhookOutbox.Job(kind: "delivery", pageId: pageId, delay: configuration.deliveryDelay) { now in
            WebhookBuilder.delivery(
                page: pageId,
                psid: psid,
                timestamp: max(now, message.timestamp),
                mids: [message.mid],
                watermark: message.timestamp
            )
        }
        let read = WebhookOutbox.Job(kind: "read", pageId: pageId, delay: configuration.readDelay) { now in
            WebhookBuilder.read(page: pageId, psid: psid, timestamp: max(now, message.timestamp), watermark: message.timestamp)
        }
        let jobs: [WebhookOutbox.Job] =
            switch configuration.receiptOrder {
            case .inOrder: reads ? [echo, delivery, read] : [echo, delivery]
            case .readBeforeDelivery: reads ? [echo, read, delivery] : [echo, delivery]
            case .duplicated: reads ? [echo, echo, delivery, delivery, read, read] : [echo, echo, delivery, delivery]
            }
        outbox.enqueue(jobs)
    }
}
