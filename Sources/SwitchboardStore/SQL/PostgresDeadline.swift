import NIOCore
import NIOPosix
import PostgresNIO
import SwitchboardCore
import Synchronization

/// A bound on how long Switchboard waits for PostgreSQL.
///
/// PostgresNIO (1.33) can wait for ever in two places, and both happen when the server
/// drops connections (a failover, a restart, `pg_terminate_backend`):
/// - a query written to a connection the server has just closed is discarded with its
///   promise, so its caller is never resumed;
/// - a lease waits while no connection can be made, until the pool's circuit breaker
///   trips a minute later.
/// A webhook must be answered within Meta's 20 seconds, and a group-commit lane or a job
/// claimer stuck behind one lost query would stay stuck, so every statement and every
/// lease runs under this deadline, and a statement whose connection closes is given up at
/// once. The caller then gets `storage.unavailable` (a 503 for the webhook) and the
/// abandoned operation is left to finish or be dropped.
struct PostgresDeadline: Sendable {
    /// nil: wait as long as it takes (migrations, whose statements may rightly be slow).
    let limit: Duration?

    /// Runs one statement on `connection`, giving up after the limit, or at once when the
    /// connection closes under it (its query is then either failed already or lost). The
    /// statement runs in a task of its own so that giving up never depends on it noticing;
    /// cancelling the caller cancels it.
    func run<T: Sendable>(on connection: PostgresConnection, _ statement: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        let work = Task { await outcome.finish(Result { try await statement() }) }
        return try await wait(for: outcome, of: work, connection: connection)
    }

    /// Leases a pooled connection for `body`, the wait for the lease bounded. The lease is
    /// held by a task of its own, as PostgresNIO lends connections only within a closure.
    func withConnection<T: Sendable>(
        _ client: PostgresClient,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let leased = Outcome<PostgresConnection>()
        let returned = Outcome<Void>()  // the borrower is done with the connection
        let lessee = Task {
            do {
                try await client.withConnection { connection in
                    leased.finish(.success(connection))
                    try await returned.value()
                }
            } catch {
                leased.finish(.failure(error))
            }
        }
        let connection: PostgresConnection
        do {
            connection = try await wait(for: leased, of: lessee, connection: nil)
        } catch {
            returned.finish(.success(()))  // a lease granted after all is handed straight back
            throw error
        }
        defer { returned.finish(.success(())) }
        return try await body(connection)
    }

    /// The outcome of `work`; or, with `work` cancelled, a timeout once the limit passes or
    /// a failure once `connection` is closed (checked twice a second).
    private func wait<T: Sendable>(for outcome: Outcome<T>, of work: Task<Void, Never>, connection: PostgresConnection?) async throws -> T {
        let watched =
            (limit == nil && connection == nil)
            ? nil
            : DeadlineWatch.shared.watch(
                connection: connection,
                giveUpAt: limit.map { NIODeadline.now() + .nanoseconds($0.nanoseconds) },
                limit: limit
            ) { failure in
                outcome.finish(.failure(failure))
                work.cancel()
            }
        defer { if let watched { DeadlineWatch.shared.forget(watched) } }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            outcome.finish(.failure(CancellationError()))
            work.cancel()
        }
    }
}

/// Every operation in flight under a deadline, checked by one sweep twice a second. A timer
/// of its own per statement (scheduled on an event loop from another thread, then
/// cancelled) cost the client more CPU than many statements' own work; registering here
/// is a lock and a dictionary insert.
private final class DeadlineWatch: Sendable {
    static let shared = DeadlineWatch()

    private struct Entry: Sendable {
        let connection: PostgresConnection?
        let giveUpAt: NIODeadline?
        let limit: Duration?
        let expire: @Sendable (SwitchboardError) -> Void
    }
    private struct State {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var sweeping = false
    }
    private let state = Mutex(State())

    /// Starts watching; `expire` is called at most once, unless ``forget(_:)`` came first.
    func watch(
        connection: PostgresConnection?,
        giveUpAt: NIODeadline?,
        limit: Duration?,
        expire: @escaping @Sendable (SwitchboardError) -> Void
    ) -> UInt64 {
        let (id, start) = state.withLock { state -> (UInt64, Bool) in
            state.next += 1
            state.entries[state.next] = Entry(connection: connection, giveUpAt: giveUpAt, limit: limit, expire: expire)
            defer { state.sweeping = true }
            return (state.next, !state.sweeping)
        }
        if start {
            // One sweep for the process's lifetime; it costs nothing while nothing waits.
            _ = MultiThreadedEventLoopGroup.singleton.any().scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) {
                [self] _ in sweep()
            }
        }
        return id
    }

    func forget(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    private func sweep() {
        let now = NIODeadline.now()
        let expired = state.withLock { state -> [(Entry, SwitchboardError)] in
            var expired: [(Entry, SwitchboardError)] = []
            for (id, entry) in state.entries {
                if let connection = entry.connection, connection.isClosed {
                    expired.append((entry, SwitchboardError(.storageUnavailable, "The connection to PostgreSQL closed during a statement.")))
                } else if let giveUpAt = entry.giveUpAt, let limit = entry.limit, now >= giveUpAt {
                    expired.append((entry, SwitchboardError(.storageUnavailable, "PostgreSQL did not answer within \(limit).")))
                } else {
                    continue
                }
                state.entries[id] = nil
            }
            return expired
        }
        for (entry, failure) in expired { entry.expire(failure) }
    }
}

/// The first of an operation's result, its deadline and its cancellation (or a plain
/// one-shot signal, as `Outcome<Void>`); later ones are ignored.
private final class Outcome<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }
    private let state = Mutex(State())

    func finish(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<T, any Error>? in
                if state.result == nil { state.waiter = continuation }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }
    }
}

extension Result where Failure == any Error {
    fileprivate init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
