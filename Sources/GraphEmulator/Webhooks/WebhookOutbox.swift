@_spi(GraphEmulator) internal import Messenger
import Synchronization

/// The webhooks Meta sends after a send (echo, then delivery, then read), queued in order
/// and posted by `GraphEmulator.runOutbox()`, each after its delay. What is due together
/// goes in one POST, as Meta aggregates notifications (messenger-platform.md §2.3), so
/// receipts keep up with sends however fast they go.
final class WebhookOutbox: Sendable {
    struct Job: Sendable {
        /// `echo`, `delivery`, `read`.
        var kind: String
        var pageId: String
        var delay: Duration
        /// Builds the event at posting time (the emulator clock's ms).
        var event: @Sendable (_ now: Int64) -> JSONValue
    }

    /// Meta's ceiling on the updates in one POST.
    static let maxEventsPerPost = 1000

    private let pending = Mutex<[Job]>([])
    /// Rung after each enqueue; holds one ring, so none is lost while the poster is busy.
    fileprivate let doorbell: AsyncStream<Void>
    private let ring: AsyncStream<Void>.Continuation

    init() {
        (doorbell, ring) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func enqueue(_ jobs: [Job]) {
        pending.withLock { $0 += jobs }
        ring.yield()
    }

    /// The next batch: the first queued job, then those right behind it that need no
    /// delay of their own (a delayed one starts the next batch), up to a POST's ceiling.
    fileprivate func nextBatch() -> [Job] {
        pending.withLock { pending in
            guard !pending.isEmpty else { return [] }
            var count = 1
            while count < min(pending.count, Self.maxEventsPerPost), pending[count].delay == .zero { count += 1 }
            defer { pending.removeFirst(count) }
            return Array(pending.prefix(count))
        }
    }
}

extension GraphEmulator {
    /// Posts queued webhooks until cancelled. Runs inside `GraphEmulatorService` and the
    /// application `GraphEmulatorServer.build` returns; only one may run at a time.
    func runOutbox() async {
        for await _ in outbox.doorbell {
            while case let batch = outbox.nextBatch(), let first = batch.first {
                if first.delay > .zero {
                    do { try await Task.sleep(for: first.delay) } catch { return }
                }
                let now = clock.nowMilliseconds
                let body = WebhookBuilder.body(pagesAndEvents: batch.map { ($0.pageId, $0.event(now)) }, time: now)
                _ = await postWebhook(body, kind: Set(batch.map(\.kind)).sorted().joined(separator: "+"))
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
