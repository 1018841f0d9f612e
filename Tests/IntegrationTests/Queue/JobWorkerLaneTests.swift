import Foundation
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

/// Slow kinds in a lane of their own never take the general places (issue 9: slow model
/// calls must not delay agents' messages).
@Suite("Job worker lanes", .timeLimit(.minutes(2)))
struct JobWorkerLaneTests {
    static let fast = JobKind(rawValue: "test.fast")

    @Test("with every general place free for them, other jobs run while the lane's jobs wait", arguments: TestDatabaseKind.all)
    func laneKeepsGeneralPlacesFree(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let queue = EmbeddedJobQueue(database: database)
            let held = RecordingJobs.held()
            let quick = RecordingJobs.quick()
            let worker = JobWorker(
                queue: queue,
                handlers: [.botAnswer: held, Self.fast: quick],
                concurrency: 1,
                lanes: [.botAnswer: 3],
                lease: .seconds(300),
                workerID: "lanes",
                logger: TestDatabase.logger
            )
            // Three answers first (in id order they would take the one general place).
            try await queue.enqueue(
                (1...3).map { NewJob(kind: .botAnswer, partition: "bot:\($0)", payload: Array("answer-\($0)".utf8)) }
                    + (1...2).map { NewJob(kind: Self.fast, partition: "send:\($0)", payload: Array("send-\($0)".utf8)) }
            )
            let running = Task { try await worker.run() }
            var started: Set<String> = []
            for await name in held.started {
                started.insert(name)
                if started.count == 3 { break }
            }
            var ran: Set<String> = []
            for await name in quick.started {
                ran.insert(name)
                if ran.count == 2 { break }
            }
            #expect(started == ["answer-1", "answer-2", "answer-3"])
            #expect(ran == ["send-1", "send-2"])
            held.release()
            running.cancel()
            _ = try? await running.value
        }
    }
}
