import SwitchboardCore
import SwitchboardServices
import TestSupport

/// Holds every job it gets until released; says when each started (its payload as text).
final class HeldJobs: JobHandler {
    let started: AsyncStream<String>
    private let startedContinuation: AsyncStream<String>.Continuation
    private let gate = Gate()

    init() { (started, startedContinuation) = AsyncStream<String>.makeStream() }

    func handle(_ job: Job) async throws -> JobDisposition {
        startedContinuation.yield(String(decoding: job.payload, as: UTF8.self))
        await gate.pass()
        return .finished
    }

    func release() { gate.open() }
}

/// Says when each job ran (its payload as text).
final class QuickJobs: JobHandler {
    let ran: AsyncStream<String>
    private let ranContinuation: AsyncStream<String>.Continuation

    init() { (ran, ranContinuation) = AsyncStream<String>.makeStream() }

    func handle(_ job: Job) async throws -> JobDisposition {
        ranContinuation.yield(String(decoding: job.payload, as: UTF8.self))
        return .finished
    }
}
