import Metrics

/// Database latency for `/metrics`: one timer per kind of unit of work (a read, a
/// transaction), including the wait for the connection.
enum DatabaseMetrics {
    static func timed<T>(_ kind: String, _ body: () async throws -> T) async rethrows -> T {
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            Timer(label: "switchboard_db_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds)
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return try await body()
    }
}
