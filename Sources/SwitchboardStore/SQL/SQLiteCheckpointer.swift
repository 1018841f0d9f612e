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
/// `PASSIVE` checkpoint, which copies what no reader still needs and never blocks the
/// writer. A log that still grows past ``truncateAfterFrames`` gets a `TRUNCATE`
/// checkpoint. That one waits for the writer, and is rare.
public final class SQLiteCheckpointer: Sendable {
    /// What one checkpoint found: frames in the log, and how many of them are now in the
    /// database file.
    public struct Result: Sendable, Equatable {
        public var logFrames: Int
        public var checkpointedFrames: Int
    }

    /// `PASSIVE` copies what it can without waiting; `TRUNCATE` waits for the writer and
    /// readers, copies everything and empties the log file.
    public enum Mode: String, Sendable {
        case passive = "PASSIVE"
        case truncate = "TRUNCATE"
    }

    /// A log longer than this (about 32 MiB of 4 KiB pages) is truncated at the next round.
    static let truncateAfterFrames = 8_192

    private let handle: SQLiteHandle
    private let committed = WorkSignal()
    private let done = WorkSignal()
    private let progress = Mutex<(rounds: UInt64, last: Result?)>((0, nil))
    private let loop = Mutex<Task<Void, Never>?>(nil)

    /// Opens the checkpointing connection; ``start(every:logger:)`` begins the rounds.
    init(path: String) async throws {
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
            var mode = Mode.passive
            while !Task.isCancelled {
                await committed.wait(timeout: .seconds(3_600))
                guard !Task.isCancelled else { return }
                do {
                    let result = try await checkpoint(mode: mode)
                    mode = result.logFrames > Self.truncateAfterFrames ? .truncate : .passive
                } catch {
                    logger.warning("SQLite checkpoint failed; the next commit tries again", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
        loop.withLock { $0 = task }
    }

    /// Tells the checkpointer the log has grown.
    func noteCommit() { committed.notify() }

    /// Runs one checkpoint now.
    @discardableResult
    public func checkpoint(mode: Mode = .passive) async throws -> Result {
        let row = try await handle.query("PRAGMA wal_checkpoint(\(mode.rawValue))", []).first
        let result = Result(logFrames: Int(row?.int("log") ?? 0), checkpointedFrames: Int(row?.int("checkpointed") ?? 0))
        progress.withLock { $0 = ($0.rounds + 1, result) }
        done.notify()
        return result
    }

    /// Checkpoints run so far (by the rounds or by ``checkpoint(mode:)``).
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
