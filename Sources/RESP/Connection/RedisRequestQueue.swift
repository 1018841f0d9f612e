/// The state machine of one connection's in-flight requests: replies arrive in the order
/// requests were written, so each reply completes the oldest request still waiting.
///
/// A request may expect several replies (a pipeline) and completes when all have arrived.
/// It knows nothing of NIO: `Promise` is whatever the handler completes, and every method
/// returns what the handler must do.
struct RedisRequestQueue<Promise> {
    struct Entry {
        let id: UInt64
        let promise: Promise
        var remaining: Int
        var values: [RESPValue]
    }

    enum EnqueueAction {
        /// Write the request; arm its timer under `id` if it has one.
        case write(id: UInt64)
        /// The connection is closed: fail the request at once.
        case fail(Promise, RedisError)
    }

    enum ReceiveAction {
        /// More replies are due for the current request.
        case none
        case succeed(id: UInt64, Promise, [RESPValue])
        /// A reply nobody asked for: the stream is out of sync, close the connection.
        case closeConnection(RedisError, failing: [Promise])
    }

    enum TimeoutAction {
        case none
        /// Fail everything in flight and close: later replies could not be matched.
        case closeConnection(RedisError, failing: [Promise])
    }

    private var pending: [Entry] = []
    private var head = 0
    private var nextID: UInt64 = 0
    private(set) var closedWith: RedisError?

    var inFlight: Int { pending.count - head }

    mutating func enqueue(_ promise: Promise, expecting count: Int) -> EnqueueAction {
        precondition(count > 0)
        if let closedWith { return .fail(promise, closedWith) }
        let id = nextID
        nextID &+= 1
        var values: [RESPValue] = []
        values.reserveCapacity(min(count, 16 * 1024))
        pending.append(Entry(id: id, promise: promise, remaining: count, values: values))
        return .write(id: id)
    }

    mutating func receive(_ value: RESPValue) -> ReceiveAction {
        guard head < pending.count else {
            let error = RedisError(.protocolViolation, message: "reply received with no request waiting: \(value)")
            return .closeConnection(error, failing: close(error))
        }
        pending[head].values.append(value)
        pending[head].remaining -= 1
        guard pending[head].remaining == 0 else { return .none }
        let entry = pending[head]
        // Release the values held by the slot, then compact now and then.
        pending[head].values = []
        head += 1
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= pending.count {
            pending.removeFirst(head)
            head = 0
        }
        return .succeed(id: entry.id, entry.promise, entry.values)
    }

    mutating func timedOut(id: UInt64, after: Duration) -> TimeoutAction {
        guard pending[head...].contains(where: { $0.id == id }) else { return .none }
        let error = RedisError(.timeout, message: "no reply within \(after)")
        return .closeConnection(error, failing: close(error))
    }

    /// Marks the queue closed and returns the promises to fail. Idempotent.
    mutating func close(_ error: RedisError) -> [Promise] {
        if closedWith == nil { closedWith = error }
        let failing = pending[head...].map(\.promise)
        pending.removeAll()
        head = 0
        return failing
    }
}
