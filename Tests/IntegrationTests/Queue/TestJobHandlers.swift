import SwitchboardCore
import SwitchboardServices
import TestSupport

/// Says when each job started (its payload as text), and holds those that `holds` picks
/// until released.
final class RecordingJobs: JobHandler {
    let started: AsyncStream<String>
    private let startedContinuation: AsyncStream<String>.Continuation
    private let holds: @Sendable (String) -> Bool
    private let gate = Gate()

    init(holding holds: @escaping @Sendable (String) -> Bool) {
        self.holds = holds
        (started, startedContinuation) = AsyncStream<String>.makeStream()
    }

    func handle(_ job: Job) async throws -> JobDisposition {
        let name = String(decoding: job.payload, as: UTF8.self)
        startedContinuation.yield(name)
        if holds(name) { await gate.pass() }
        return .finished
    }

    func release() { gate.open() }

    /// Holds every job.
    static func held() -> RecordingJobs { RecordingJobs { _ in true } }
    /// Holds none.
    static func quick() -> RecordingJobs { RecordingJobs { _ in false } }
}
