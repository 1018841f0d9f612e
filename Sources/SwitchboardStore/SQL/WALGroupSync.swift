import SwitchboardCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Group commit for SQLite's durable transactions. Every transaction commits with
/// `synchronous=NORMAL` (in WAL mode: atomic, and safe across a process crash, but not yet
/// on disk); a durable one then waits here until the write-ahead log has been synced with
/// `fsync`. One sync covers every commit made before it started, so under load many
/// durable transactions share each `fsync` instead of paying one each, as
/// `synchronous=FULL` would. A commit SQLite has meanwhile checkpointed into the database
/// file is on disk already: SQLite syncs the database file when a checkpoint completes.
final class WALGroupSync: Sendable {
    private struct Waiter {
        var commit: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        /// Durable commits so far, by number.
        var committed: UInt64 = 0
        /// Every commit up to this number is on disk.
        var synced: UInt64 = 0
        /// `fsync`s done.
        var syncs: UInt64 = 0
        /// The sync thread is at work (it stops when nobody waits).
        var syncing = false
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())
    private let path: String
    /// Where the `fsync`s run, one after another while commits wait: no turn is handed
    /// from one waiting task to the next, and no sync waits for a place in a shared pool.
    private let thread = SQLiteThread()

    /// - Parameter walPath: the database's `-wal` file.
    init(walPath: String) {
        self.path = walPath
    }

    /// How many times the log was synced: under load, far fewer than durable commits.
    var syncs: UInt64 { state.withLock { $0.syncs } }

    /// Numbers a commit that just happened; pass the number to ``waitUntilDurable(_:)``.
    /// Call it while still holding the write lock, so numbers follow commit order; or
    /// outside it to wait for a sync that starts later, covering every commit that ended.
    func noteCommit() -> UInt64 {
        state.withLock { state in
            state.committed += 1
            return state.committed
        }
    }

    /// Returns once commit `number` is on disk; throws if the sync failed. The sync thread
    /// starts when a commit waits and stops once nobody does.
    func waitUntilDurable(_ number: UInt64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let start = state.withLock { state -> Bool? in
                if state.synced >= number { return nil }
                state.waiters.append(Waiter(commit: number, continuation: continuation))
                defer { state.syncing = true }
                return !state.syncing
            }
            switch start {
            case nil: continuation.resume()
            case true?: thread.execute { self.syncWhileWaited() }
            case false?: break
            }
        }
    }

    /// Ends the sync thread (the database is closing: nothing waits).
    func shutdown() async {
        await thread.shutdown()
    }

    /// On the sync thread: one `fsync` after another, each covering every commit numbered
    /// before it began, waking those it covered, until nobody waits.
    private func syncWhileWaited() {
        while true {
            let target = state.withLock { $0.committed }
            let outcome = syncLog()
            let (covered, more) = state.withLock { state -> ([Waiter], Bool) in
                state.syncs += 1
                if case .success = outcome { state.synced = max(state.synced, target) }
                let covered = state.waiters.filter { $0.commit <= target }
                state.waiters.removeAll { $0.commit <= target }
                state.syncing = !state.waiters.isEmpty
                return (covered, state.syncing)
            }
            for waiter in covered { waiter.continuation.resume(with: outcome) }
            guard more else { return }
        }
    }

    /// `fsync` of the write-ahead log (blocking: only on the sync thread).
    private func syncLog() -> Result<Void, any Error> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(SwitchboardError(.storageUnavailable, "Cannot open \(path) to sync it: errno \(errno).")) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { return .failure(SwitchboardError(.storageUnavailable, "fsync of \(path) failed: errno \(errno).")) }
        return .success(())
    }
}
