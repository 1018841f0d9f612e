/// A worker's standing offer to take jobs straight from the transaction that enqueues
/// them, skipping the claim.
///
/// On the bot's path a reply passes two job hops (the answer, then the send). Each hop was
/// a wake-up and a claim: a write transaction on SQLite's single writer, 0.35–0.45 ms at
/// the median. A queue that supports handoffs (``JobHandoffSource``) asks a taker for one
/// of its free slots while it enqueues. If a slot is free and the job would be its
/// partition's head anyway, it writes the job already leased to the taker's worker. Once
/// the transaction commits, it delivers the job; if the transaction rolls back, it gives
/// the slot back.
public struct JobTaker: Sendable {
    /// The kinds this taker runs.
    public var kinds: JobKindFilter
    /// The worker the job's lease is written for.
    public var worker: String
    /// How long that lease lasts.
    public var lease: Duration
    /// Takes one free slot for a job of that kind (false when none is free, the worker is
    /// stopping, or the kind gives way for now).
    public var reserve: @Sendable (JobKind) -> Bool
    /// Runs a job in the slot reserved for it (after its transaction committed).
    public var deliver: @Sendable (Job) -> Void
    /// Gives back a reserved slot (the transaction rolled back).
    public var release: @Sendable () -> Void

    public init(
        kinds: JobKindFilter,
        worker: String,
        lease: Duration,
        reserve: @escaping @Sendable (JobKind) -> Bool,
        deliver: @escaping @Sendable (Job) -> Void,
        release: @escaping @Sendable () -> Void
    ) {
        self.kinds = kinds
        self.worker = worker
        self.lease = lease
        self.reserve = reserve
        self.deliver = deliver
        self.release = release
    }
}

/// A queue that can hand jobs to local workers as it enqueues them (``JobTaker``).
public protocol JobHandoffSource: Sendable {
    /// Adds `takers` (a worker's, one per claim loop) until ``withdrawTakers(of:)``.
    func offer(_ takers: [JobTaker])
    /// Removes every taker of `worker` (it is stopping).
    func withdrawTakers(of worker: String)
}
