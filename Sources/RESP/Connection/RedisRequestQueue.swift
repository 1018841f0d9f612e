/// The state machine of one connection's in-flight requests: replies arrive in the order
/// requests were written, so each reply completes the oldest request still waiting.
///
/// A request may expect several replies (a pipeline) and completes when all have arrived.
/// Timeouts share one timer per connection: it is armed for the earliest deadline it knows
/// of, and when it fires the queue either finds a request past its deadline or names the
/// next deadline (a timer per request would cost a schedule and a cancel each). It knows
/// nothing of NIO: `Promise` is whatever the handler completes, times are nanoseconds of
/// the caller's monotonic clock, and every method returns what the handler must do.
struct RedisRequestQueue<Promise> {
    struct Entry {
        let promise: Promise
        var remaining: Int
        var values: [RESPValue]
        let timeout: Duration?
        /// When `timeout` runs out, in the caller's nanoseconds.
        let deadline: UInt64?
    }

    enum EnqueueAction {
        /// Write the request; if `armTimerAt` is set, (re)arm the connection's timer for it,
        /// replacing the one armed.
        case write(armTimerAt: UInt64?)
        /// The connection is closed: fail the request at once.
        case fail(Promise, RedisError)
    }

    enum ReceiveAction {
        /// More replies are due for the current request.
        case none
        case succeed(Promise, [RESPValue])
        /// A reply nobody asked for: the stream is out of sync, close the connection.
        case closeConnection(RedisError, failing: [Promise])
    }

    enum TimerAction {
        /// Nothing waits with a deadline: leave the timer unarmed.
        case none
        case rearm(at: UInt64)
        /// Fail everything in flight and close: later replies could not be matched.
        case closeConnection(RedisError, failing: [Promise])
    }

    private var pending: [Entry] = []
    private var head = 0
    /// The deadline the connection's timer is armed for, if it is.
    private(set) var timerDeadline: UInt64?
    private(set) var closedWith: RedisError?

    var inFlight: Int { pending.count - head }

    /// - Parameters:
    ///   - timeout: how long the request may wait for its replies (nil: for ever).
    ///   - now: the current time in nanoseconds (read only with a timeout).
    mutating func enqueue(_ promise: Promise, expecting count: Int, timeout: Duration? = nil, now: UInt64 = 0) -> EnqueueAction {
        precondition(count > 0)
        if let closedWith { return .fail(promise, closedWith) }
        var values: [RESPValue] = []
        values.reserveCapacity(min(count, 16 * 1024))
        let deadline = timeout.map { now &+ Self.nanoseconds($0) }
        pending.append(Entry(promise: promise, remaining: count, values: values, timeout: timeout, deadline: deadline))
        guard let deadline, timerDeadline.map({ deadline < $0 }) ?? true else { return .write(armTimerAt: nil) }
        timerDeadline = deadline
        return .write(armTimerAt: deadline)
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
        return .succeed(entry.promise, entry.values)
    }

    /// The connection's timer fired at `now`: a request past its deadline closes the
    /// connection, else the timer is armed for the earliest deadline still waiting.
    mutating func timerFired(now: UInt64) -> TimerAction {
        timerDeadline = nil
        guard closedWith == nil else { return .none }
        var earliest: UInt64?
        for entry in pending[head...] {
            guard let deadline = entry.deadline else { continue }
            if deadline <= now {
                let error = RedisError(.timeout, message: "no reply within \(entry.timeout ?? .zero)")
                return .closeConnection(error, failing: close(error))
            }
            earliest = min(earliest ?? deadline, deadline)
        }
        guard let earliest else { return .none }
        timerDeadline = earliest
        return .rearm(at: earliest)
    }

    /// Marks the queue closed and returns the promises to fail. Idempotent.
    mutating func close(_ error: RedisError) -> [Promise] {
        if closedWith == nil { closedWith = error }
        let failing = pending[head...].map(\.promise)
        pending.removeAll()
        head = 0
        timerDeadline = nil
        return failing
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds / 1_000_000_000))
    }
}
