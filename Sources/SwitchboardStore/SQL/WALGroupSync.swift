import NIOPosix
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
    private enum Turn: Sendable {
        case durable
        case failed(SwitchboardError)
        /// Sync now, for yourself and everyone waiting.
        case lead
    }

    private struct Waiter {
        var commit: UInt64
        var continuation: CheckedContinuation<Turn, Never>
    }

    private struct State {
        /// Durable commits so far, by number.
        var committed: UInt64 = 0
        /// Every commit up to this number is on disk.
        var synced: UInt64 = 0
        /// `fsync`s done.
        var syncs: UInt64 = 0
        var syncing = false
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())
    private let path: String

    /// - Parameter walPath: the database's `-wal` file.
    init(walPath: String) {
        self.path = walPath
    }

    /// How many times the log was synced: under load, far fewer than durable commits.
    var syncs: UInt64 { state.withLock { $0.syncs } }

    /// Numbers a commit that just happened; pass the number to ``waitUntilDurable(_:)``.
    /// Call it while still holding the write lock, so numbers follow commit order.
    func noteCommit() -> UInt64 {
        state.withLock { state in
            state.committed += 1
            return state.committed
        }
    }

    /// Returns once commit `number` is on disk; throws if the sync failed. The caller that
    /// finds no sync running does one itself, covering every commit made so far, then
    /// hands the turn to the first caller that came in meanwhile: no background task.
    func waitUntilDurable(_ number: UInt64) async throws {
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let now = state.withLock { state -> Turn? in
                if state.synced >= number { return .durable }
                if state.syncing {
                    state.waiters.append(Waiter(commit: number, continuation: continuation))
                    return nil
                }
                state.syncing = true
                return .lead
            }
            if let now { continuation.resume(returning: now) }
        }
        switch turn {
        case .durable: return
        case .failed(let error): throw error
        case .lead: try await syncRound().get()
        }
    }

    /// One `fsync` covering every commit numbered so far; wakes the waiters it covered and
    /// passes the turn on to the first one it did not.
    private func syncRound() async -> Result<Void, SwitchboardError> {
        let target = state.withLock { $0.committed }
        let outcome = await syncLog()
        let (covered, next) = state.withLock { state -> ([Waiter], Waiter?) in
            state.syncs += 1
            if case .success = outcome { state.synced = max(state.synced, target) }
            let covered = state.waiters.filter { $0.commit <= target }
            state.waiters.removeAll { $0.commit <= target }
            guard !state.waiters.isEmpty else {
                state.syncing = false
                return (covered, nil)
            }
            return (covered, state.waiters.removeFirst())
        }
        for waiter in covered {
            switch outcome {
            case .success: waiter.continuation.resume(returning: .durable)
            case .failure(let error): waiter.continuation.resume(returning: .failed(error))
            }
        }
        next?.continuation.resume(returning: .lead)
        return outcome
    }

    /// `fsync` of the write-ahead log, on a thread that may block.
    private func syncLog() async -> Result<Void, SwitchboardError> {
        let path = self.path
        do {
            try await NIOThreadPool.singleton.runIfActive {
                let fd = open(path, O_RDONLY)
                guard fd >= 0 else { throw SwitchboardError(.storageUnavailable, "Cannot open \(path) to sync it: errno \(errno).") }
                defer { close(fd) }
                guard fsync(fd) == 0 else { throw SwitchboardError(.storageUnavailable, "fsync of \(path) failed: errno \(errno).") }
            }
            return .success(())
        } catch let error as SwitchboardError {
            return .failure(error)
        } catch {
            return .failure(SwitchboardError(.storageUnavailable, "Syncing \(path) failed: \(error)"))
        }
    }
}
