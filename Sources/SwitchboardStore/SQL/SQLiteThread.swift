import NIOCore
import NIOPosix

/// A thread of its own for SQLite's blocking calls (one connection's statements, or the
/// log's `fsync`s), as a task executor.
///
/// SQLite's calls block, so they must not run on Swift's cooperative threads. On NIO's
/// shared thread pool every statement paid two thread switches, there and back: the bot
/// benchmark's trace showed a job claim (four statements) taking 0.5 ms, most of it
/// switching. ``SQLiteDatabase`` makes this thread the executor preference of a whole
/// transaction (or read), so the body and its statements run here one after another, and
/// only entering and leaving switch threads. The thread runs nothing else, so a statement
/// that blocks (a checkpoint, a busy wait) delays only its own connection's queue.
final class SQLiteThread: TaskExecutor {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: any EventLoop

    init() {
        loop = group.next()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }

    /// Runs `body` on this thread: at once when the caller is already here (inside a
    /// transaction), else after one switch.
    func run<T: Sendable>(_ body: @Sendable () throws -> T) async throws -> T {
        if loop.inEventLoop { return try body() }
        return try await withTaskExecutorPreference(self) { try body() }
    }

    /// Runs `body` on this thread later, without waiting for it.
    func execute(_ body: @escaping @Sendable () -> Void) {
        loop.execute(body)
    }

    /// Runs `body`, and every nonisolated async function it calls, on this thread.
    func withPreference<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(self, operation: body)
    }

    /// Ends the thread once its queued work has run.
    func shutdown() async {
        try? await group.shutdownGracefully()
    }
}
