// No-op jobs per second through the Redis Streams queue with its PostgreSQL outbox, run
// by the real JobWorker: N jobs are written to the `jobs` table first, then the
// dispatcher and W workers start, and the clock runs until the last job completed.
// Comparable to scripts/bench-parts/redis_bullmq.py (same N, same concurrency).
//   QueueBench POSTGRES_URL REDIS_URL [jobs] [workers]
// SB_BENCH_EXECUTOR=cooperative keeps Swift's own executor (the default, `nio`, runs the
// tasks on NIO's event loops: docs/resp.md, "Throughput").
import Foundation
import Logging
import NIOCore
import NIOPosix
import SwitchboardCore
import SwitchboardRedis
import SwitchboardServices
import SwitchboardStore
import Synchronization

let executor = ProcessInfo.processInfo.environment["SB_BENCH_EXECUTOR"] ?? "nio"
if executor == "nio" {
    // First thing, on the main thread, before any task exists.
    guard NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() else {
        fatalError("cannot install NIO's event loops as the global executor")
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let endpoint = PostgresDatabase.Endpoint(url: arguments[1]) else {
    print("usage: QueueBench POSTGRES_URL REDIS_URL [jobs] [workers]")
    exit(2)
}
let redisURL = arguments[2]
let jobs = arguments.count > 3 ? Int(arguments[3])! : 20_000
let workers = arguments.count > 4 ? Int(arguments[4])! : 8

var logger = Logger(label: "queue-bench")
logger.logLevel = .warning

/// Counts completions and says when the last one happened.
final class Finish: JobHandler {
    let target: Int
    let count = Atomic(0)
    let done: AsyncStream<Void>.Continuation
    init(target: Int, done: AsyncStream<Void>.Continuation) {
        self.target = target
        self.done = done
    }
    func handle(_ job: Job) async throws -> JobDisposition {
        if count.add(1, ordering: .relaxed).newValue == target { done.yield() }
        return .finished
    }
}

let database = PostgresDatabase(endpoint: endpoint, maxConnections: workers + 8, logger: logger)
let (finished, finish) = AsyncStream<Void>.makeStream()
let kind = JobKind(rawValue: "bench.noop")
let handler = Finish(target: jobs, done: finish)

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await database.run() }
    _ = try await Migrator(database: database).migrate(now: Date().millisecondsSince1970)
    let store = SQLStore(database: database)
    let backend = try RedisBackend(url: redisURL, keyPrefix: "bench-\(UInt32.random(in: 0...UInt32.max))", nodeID: "bench", logger: logger)
    group.addTask { await backend.run() }
    while !backend.isConnected { await backend.waitForChange(timeout: .seconds(1)) }
    let queue = RedisJobQueue(outbox: store.queue, backend: backend, configuration: .init(lease: .seconds(30)), logger: logger)
    for start in stride(from: 0, to: jobs, by: 1000) {
        try await queue.enqueue((start..<min(jobs, start + 1000)).map { _ in NewJob(kind: kind, partition: nil, payload: []) })
    }
    let worker = JobWorker(queue: queue, handlers: [kind: handler], concurrency: workers, lease: .seconds(30), workerID: "bench", logger: logger)
    let started = ContinuousClock.now
    group.addTask { await queue.run() }
    group.addTask { try await worker.run() }
    for await _ in finished { break }
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    let line =
        "QUEUE streams+postgres: \(Int(Double(jobs) / seconds)) jobs per second (\(jobs) no-op jobs, \(workers) workers, \(String(format: "%.2f", seconds)) s, executor \(executor))\n"
    FileHandle.standardOutput.write(Data(line.utf8))
    // A figure, not a graceful shutdown (under a ServiceGroup the services stop in order).
    exit(0)
}
