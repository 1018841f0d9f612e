import EngineIO
import NIOCore
import Synchronization

/// The deliveries waiting for one event loop. A broadcast to a thousand sockets appends a
/// thousand entries here and schedules one task, instead of a thousand tasks on the loop.
final class EngineIODeliveryQueue: Sendable {
    struct Delivery: Sendable {
        var handler: NIOLoopBound<EngineIOWebSocketHandler>
        var frames: [EngineIOFrame]
        var finish: Bool
    }

    let eventLoop: any EventLoop
    private let pending = Mutex<(deliveries: [Delivery], scheduled: Bool)>(([], false))

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Queues a delivery from any thread; the first one since the loop last ran schedules it.
    func enqueue(_ delivery: Delivery) {
        let schedule = pending.withLock { pending in
            pending.deliveries.append(delivery)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if schedule { eventLoop.execute { self.run() } }
    }

    private func run() {
        let deliveries = pending.withLock { pending in
            pending.scheduled = false
            defer { pending.deliveries = [] }
            return pending.deliveries
        }
        for delivery in deliveries { delivery.handler.value.deliver(delivery.frames, finish: delivery.finish) }
    }
}

/// One ``EngineIODeliveryQueue`` per event loop, made on first use.
final class EngineIODeliveryQueues: Sendable {
    private let queues = Mutex<[ObjectIdentifier: EngineIODeliveryQueue]>([:])

    func queue(for eventLoop: any EventLoop) -> EngineIODeliveryQueue {
        queues.withLock { queues in
            let key = ObjectIdentifier(eventLoop)
            if let queue = queues[key] { return queue }
            let queue = EngineIODeliveryQueue(eventLoop: eventLoop)
            queues[key] = queue
            return queue
        }
    }
}
