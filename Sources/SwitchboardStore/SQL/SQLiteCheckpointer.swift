import Logging
import SwitchboardCore
import Synchronization

/// Copies SQLite's write-ahead log back into the database file on a connection of its own.
///
/// SQLite's automatic checkpoint runs inside the `COMMIT` that takes the log past 1,000
/// pages. It syncs the log, copies the pages and syncs the database file. On the bot
/// benchmark that `COMMIT` held the single writer for 7–8 ms every second or so, and every
/// transaction queued behind it waited. The writer now never checkpoints
/// (`wal_autocheckpoint=0`). Instead, a while after commits, this connection runs a
/// `PASSIVE` checkpoint, which copies what no reader still needs without blocking the
/// writer.
///
/// A passive checkpoint alone lets the log grow: SQLite starts the log over only when a
/// write begins with every frame copied, and under steady writes new frames always arrive
/// during the copy. A growing log costs a block allocation on every append, which makes
/// every `fsync` slower (the send benchmark's p99 went from 40 to 70–120 ms). So once the
/// log holds ``restartAfterFrames``, a second pass copies the few frames left while holding
/// the writer's lock; the next write then starts the log over.
public final class SQLiteCheckpointer: Sendable {
    /// What one checkpoint found: frames in the log, and how many of them are now in the
    /// database file.
    public struct Result: Sendable, Equatable {
        public var logFrames: Int
        public var checkpointedFrames: Int
    }

    /// SQLite's own automatic checkpoint threshold: past it, the log is started over.
    static let restartAfterFrames = 1_000

    private let handle: SQLiteHandle
    private let writeLock: AsyncLock
    private let committed = WorkSignal()
    private let done = WorkSignal()
    private let progress = Mutex<(rounds: UInt64, last: Result?)>((0, nil))
    private let loop = Mutex<Task<Void, Never>?>(nil)

    /// Opens the checkpointing connection; ``start(every:logger:)`` begins the rounds.
    /// `writeLock` is the lock every write transaction holds.
    init(path: String, writeLock: AsyncLock) async throws {
        self.writeLock = writeLock
        handle = try await SQLiteHandle.open(path: path)
        do {
            _ = try await handle.query("PRAGMA busy_timeout=10000", [])
        } catch {
            await handle.close()
            throw error
        }
    }

    /// Checkpoints at most once per `interval`, and only after commits.
    func start(every interval: Duration, logger: Logger) {
        let task = Task { [self] in
            while !Task.isCancelled {
                await committed.wait(timeout: .seconds(3_600))
                guard !Task.isCancelled else { return }
                do {
                    try await round()
                } catch {
                    logger.warning("SQLite checkpoint failed; the next commit tries again", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        loop.withLock { $0 = task }
    }

    /// One round: a passive checkpoint, and if the log is long, a second one holding the
    /// writer's lock so that the next write starts the log over.
    @discardableResult
    public func round() async throws -> Result {
        let first = try await checkpoint()
        guard first.logFrames >= Self.restartAfterFrames else { return first }
        return try await writeLock.withLock { try await checkpoint() }
    }

    /// Tells the checkpointer the log has grown.
    func noteCommit() { committed.notify() }

    /// Runs one passive checkpoint now.
    @discardableResult
    public func checkpoint() async throws -> Result {
        let row = try await handle.query("PRAGMA wal_checkpoint(PASSIVE)", []).first
        let result = Result(logFrames: Int(row?.int("log") ?? 0), checkpointedFrames: Int(row?.int("checkpointed") ?? 0))
        progress.withLock { $0 = ($0.rounds + 1, result) }
        done.notify()
        return result
    }

    /// Checkpoints run so far (by the rounds or by ``checkpoint()``).
    public var rounds: UInt64 { progress.withLock { $0.rounds } }

    /// What the latest checkpoint found.
    public var last: Result? { progress.withLock { $0.last } }

    /// Returns once more than `rounds` checkpoints have run.
    public func waitForRound(after rounds: UInt64) async {
        while self.rounds <= rounds, !Task.isCancelled { await done.wait(timeout: .seconds(1)) }
    }

    /// Stops the rounds and closes the connection.
    func close() async {
        let task = loop.withLock { $0 }
        task?.cancel()
        committed.notify()
        await task?.value
        await handle.close()
    }
}
