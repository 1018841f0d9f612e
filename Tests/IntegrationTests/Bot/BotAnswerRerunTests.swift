import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

/// A bot reply and its send's mark may commit relaxed once the answer job's lease is on
/// disk; a power loss can then take the reply back after Meta got it. The job then runs
/// again, and must not answer twice.
@Suite("Bot: an answer job run again after a crash", .serialized, .timeLimit(.minutes(2)))
struct BotAnswerRerunTests {
    /// The customer writes; a process takes the answer job and dies with it. Its lease
    /// lapses, and the next run of the job finds it is not the first.
    static func crashMidAnswer(_ rig: BotRig) async throws {
        try await rig.customer("Do you ship to Austria?")
        rig.clock.advance(by: 3)
        let taken = try #require(try await rig.store.queue.claim(limit: 1, worker: "dead", lease: .seconds(30)).first)
        #expect(taken.kind == .botAnswer)
        try await rig.advance(31)
        #expect(rig.sentTexts.isEmpty)
    }

    @Test("a job run again answers only after the echo wait, once", arguments: TestDatabaseKind.all)
    func answersAfterTheEchoWait(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await Self.crashMidAnswer(rig)
            try await rig.advance(9)
            #expect(rig.sentTexts.isEmpty)
            try await rig.advance(1)
            #expect(rig.sentTexts.count == 1)
            try await rig.advance(60)
            #expect(rig.sentTexts.count == 1)
            #expect(try await rig.botMessages().count == 1)
        }
    }

    @Test("the echo of a reply the crash took back arrives: the bot steps back instead of answering again", arguments: TestDatabaseKind.all)
    func echoOfALostReplyPauses(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await Self.crashMidAnswer(rig)
            // Our app's message with an id no row has: the lost reply.
            try await rig.ownEcho("We ship across the EU.", of: "987654321")
            #expect(try await rig.state().pauseReason == .agentReplied)
            try await rig.advance(10)
            #expect(rig.sentTexts.isEmpty)
            #expect(try await rig.botMessages().isEmpty)
        }
    }
}
