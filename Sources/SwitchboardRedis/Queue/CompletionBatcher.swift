import SwitchboardCore
import Synchronization

/// Group commit for finished jobs' rows: while one batch is being deleted (one
/// commit), the jobs finishing meanwhile wait, and the first of them deletes them all
/// next. Under load each commit finishes many jobs; when idle a job is finished at
/// once. No task of its own: the caller that heads a batch writes it, answers the others,
/// passes the lead on, and only then does the batch's follow-up (acknowledging the
/// entries), so the next batch never waits for it.
final class CompletionBatcher: Sendable {
    /// Deletes a batch of rows.
    typealias Write = @Sendable ([Job]) async throws -> Void
    /// What the leader does with a batch once it is written (nobody waits for it).
    typealias Afterwards = @Sendable ([Job]) async -> Void

    private enum Turn: Sendable {
        case written
        case failed(any Error)
        case yours
    }

    private final class Waiter: @unchecked Sendable {
        let job: Job
        // Guarded by `state`'s lock.
        var continuation: CheckedContinuation<Turn, Never>?
        init(_ job: Job) { self.job = job }
    }

    private struct State {
        var waiting: [Waiter] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let maxBatch: Int

    init(maxBatch: Int) {
        self.maxBatch = maxBatch
    }

    /// Returns once the job's row is deleted, with whichever jobs finished meanwhile.
    func finish(_ job: Job, write: Write, afterwards: Afterwards) async throws {
        let waiter = Waiter(job)
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state -> Bool in
                state.waiting.append(waiter)
                guard !state.writing else {
                    waiter.continuation = continuation
                    return false
                }
                state.writing = true
                return true
            }
            if leads { continuation.resume(returning: .yours) }
        }
        switch turn {
        case .written: return
        case .failed(let error): throw error
        case .yours: try await lead(waiter, write: write, afterwards: afterwards)
        }
    }

    /// Writes what waits (the leader's job among it), answers the others, passes the lead
    /// to the first job that arrived meanwhile, then does the batch's follow-up.
    private func lead(_ leader: Waiter, write: Write, afterwards: Afterwards) async throws {
        let batch = state.withLock { state -> [Waiter] in
            let count = min(maxBatch, state.waiting.count)
            defer { state.waiting.removeFirst(count) }
            return Array(state.waiting.prefix(count))
        }
        let jobs = batch.map(\.job)
        var outcome = Turn.written
        do {
            try await write(jobs)
        } catch {
            outcome = .failed(error)
        }
        let (answers, next) = state.withLock { state -> ([CheckedContinuation<Turn, Never>], CheckedContinuation<Turn, Never>?) in
            let answers = batch.filter { $0 !== leader }.compactMap(\.continuation)
            for waiter in batch { waiter.continuation = nil }
            guard let first = state.waiting.first else {
                state.writing = false
                return (answers, nil)
            }
            defer { first.continuation = nil }
            return (answers, first.continuation)
        }
        for answer in answers { answer.resume(returning: outcome) }
        next?.resume(returning: .yours)
        if case .failed(let error) = outcome { throw error }
        await afterwards(jobs)
    }
}
