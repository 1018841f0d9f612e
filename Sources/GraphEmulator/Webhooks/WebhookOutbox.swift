@_spi(GraphEmulator) internal import Messenger

/// The webhooks Meta sends after a send (echo, then delivery, then read), queued in order
/// and posted one by one by `GraphEmulator.runOutbox()`, each after its delay.
struct WebhookOutbox: Sendable {
    struct Job: Sendable {
        /// `echo`, `delivery`, `read`.
        var kind: String
        var pageId: String
        var delay: Duration
        /// Builds the event at posting time (the emulator clock's ms).
        var event: @Sendable (_ now: Int64) -> JSONValue
    }

    let stream: AsyncStream<Job>
    let continuation: AsyncStream<Job>.Continuation

    init() {
        (stream, continuation) = AsyncStream<Job>.makeStream(bufferingPolicy: .unbounded)
    }

    func enqueue(_ job: Job) { continuation.yield(job) }
}

extension GraphEmulator {
    /// Posts queued webhooks until cancelled. Runs inside `GraphEmulatorService` and the
    /// application `GraphEmulatorServer.build` returns; only one may run at a time.
    func runOutbox() async {
        for await job in outbox.stream {
            if job.delay > .zero {
                do { try await Task.sleep(for: job.delay) } catch { return }
            }
            let now = clock.nowMilliseconds
            let body = WebhookBuilder.body(page: job.pageId, events: [job.event(now)], time: now)
            _ = await postWebhook(body, kind: job.kind)
            if Task.isCancelled { return }
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
        for job in jobs { outbox.enqueue(job) }
    }
}
