public import SwitchboardCore
import Synchronization

/// The in-process fan-out of realtime events after commit. The Socket.IO layer subscribes
/// to it; tests subscribe to await what the workers publish.
public final class EventHub: EventPublisher {
    private let subscribers = Mutex<[Int: AsyncStream<RealtimeEvent>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    public init() {}

    public func publish(_ events: [RealtimeEvent]) async {
        guard !events.isEmpty else { return }
        let current = subscribers.withLock { Array($0.values) }
        for subscriber in current {
            for event in events { subscriber.yield(event) }
        }
    }

    /// A stream of every event published from now on, until the stream is dropped.
    public func subscribe() -> AsyncStream<RealtimeEvent> {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<RealtimeEvent>.makeStream()
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }
}
