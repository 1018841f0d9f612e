// Pipelined SET/GET throughput of the RESP client, comparable to
// `redis-benchmark -P 16 -t set,get -r 100000 -d 3 -c 50`.
//   RESPBench URL [requests] [pipeline] [clients]
// SB_BENCH_EXECUTOR=cooperative keeps Swift's own executor (the default, `nio`, runs the
// tasks on NIO's event loops: docs/resp.md, "Throughput").
import Foundation
import NIOCore
import NIOPosix
import RESP

let executor = ProcessInfo.processInfo.environment["SB_BENCH_EXECUTOR"] ?? "nio"
if executor == "nio" {
    // First thing, on the main thread, before any task exists.
    guard NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() else {
        fatalError("cannot install NIO's event loops as the global executor")
    }
}

let arguments = CommandLine.arguments
let url = arguments.count > 1 ? arguments[1] : "redis://127.0.0.1:6379"
let requests = arguments.count > 2 ? Int(arguments[2])! : 1_000_000
let pipeline = arguments.count > 3 ? Int(arguments[3])! : 16
let clients = arguments.count > 4 ? Int(arguments[4])! : 50
let keyspace = 100_000

var configuration = try RedisConfiguration(url: url)
configuration.pool.maximumConnections = clients
configuration.pool.minimumConnections = clients
let client = RedisClient(configuration: configuration)

/// `key:` and the number in 12 digits, the keys `redis-benchmark -r` uses, written straight
/// into the string's storage (redis-benchmark too writes the digits into a template in
/// place). A table of the 100,000 keys made up front was slower: each command then read a
/// random one of them, two cache misses per command in a 7 MB table.
func key(_ n: Int) -> RedisArgument {
    RedisArgument(
        String(unsafeUninitializedCapacity: 16) { bytes in
            for (i, c) in "key:".utf8.enumerated() { bytes[i] = c }
            var v = n
            for i in stride(from: 15, through: 4, by: -1) {
                bytes[i] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
            }
            return 16
        }
    )
}

/// A cheap generator for random key numbers (the system one makes a syscall each time).
struct XorShift: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

func measure(_ name: String, _ make: @escaping @Sendable (Int) -> RedisCommand<RESPValue>) async throws -> Double {
    let perClient = requests / clients
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for c in 0..<clients {
            group.addTask {
                var rng = XorShift(state: UInt64(c + 1) &* 0x9E37_79B9_7F4A_7C15)
                var done = 0
                var batch: [RedisCommand<RESPValue>] = []
                batch.reserveCapacity(pipeline)
                while done < perClient {
                    batch.removeAll(keepingCapacity: true)
                    for _ in 0..<min(pipeline, perClient - done) { batch.append(make(Int(rng.next() % UInt64(keyspace)))) }
                    let results = try await client.pipeline(batch)
                    for r in results { _ = try r.get() }
                    done += batch.count
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    let rate = Double(perClient * clients) / seconds
    print("RESP \(name): \(Int(rate)) requests per second (\(perClient * clients) requests, P=\(pipeline), clients=\(clients), executor \(executor))")
    return rate
}

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await client.run() }
    _ = try await client.ping()
    // Warm up every pooled connection.
    try await withThrowingTaskGroup(of: Void.self) { g in
        for _ in 0..<clients { g.addTask { _ = try await client.ping() } }
        try await g.waitForAll()
    }
    _ = try await measure("SET") { n in RedisCommand<RESPValue>(["SET", key(n), "xxx"]) }
    _ = try await measure("GET") { n in RedisCommand<RESPValue>(["GET", key(n)]) }
    group.cancelAll()
}
