/// A binary min-heap of (deadline, session) used by the heartbeat loop. A session holds at
/// most one entry: it is inserted when opened and re-inserted each time its entry fires.
struct EngineIOTimerQueue: Sendable {
    struct Entry: Sendable {
        var deadline: ContinuousClock.Instant
        var session: EngineIOSession
    }
    private var heap: [Entry] = []

    var count: Int { heap.count }

    mutating func insert(_ session: EngineIOSession, at deadline: ContinuousClock.Instant) {
        heap.append(Entry(deadline: deadline, session: session))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns every entry due at `now`.
    mutating func popDue(now: ContinuousClock.Instant) -> [EngineIOSession] {
        var due: [EngineIOSession] = []
        while let first = heap.first, first.deadline <= now {
            due.append(first.session)
            let last = heap.removeLast()
            guard !heap.isEmpty else { break }
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
                if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
                guard smallest != parent else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return due
    }

    mutating func removeAll() { heap.removeAll() }
}
