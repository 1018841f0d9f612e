import Synchronization

/// Work to run once the write transaction in progress has ended. ``SQLiteDatabase`` sets
/// one for the body of every write transaction and runs it after `COMMIT` (and after the
/// group sync, for a durable one) or after `ROLLBACK`. The queue uses it to hand a job
/// enqueued in the transaction to a local worker only once the job is committed.
final class TransactionEnd: Sendable {
    /// The current task's write transaction, if it runs inside one on SQLite.
    @TaskLocal static var current: TransactionEnd?

    private let actions = Mutex<[@Sendable (_ committed: Bool) -> Void]>([])
    private let durabilityRequired = Atomic<Bool>(false)

    /// Makes a relaxed transaction commit durably: something it wrote must be on disk
    /// before its end actions run (a handed-off send's mark, `SQLStore.enqueueSend`).
    func requireDurability() {
        durabilityRequired.store(true, ordering: .relaxed)
    }

    /// Whether ``requireDurability()`` was called.
    var requiresDurability: Bool { durabilityRequired.load(ordering: .relaxed) }

    /// Adds `action`, to run with whether the transaction committed.
    func onEnd(_ action: @escaping @Sendable (_ committed: Bool) -> Void) {
        actions.withLock { $0.append(action) }
    }

    /// Runs the actions once, in the order they were added.
    func run(committed: Bool) {
        for action in actions.withLock({ actions in
            defer { actions = [] }
            return actions
        }) { action(committed) }
    }
}
