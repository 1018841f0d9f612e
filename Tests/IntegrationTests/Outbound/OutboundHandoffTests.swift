import Foundation
import GraphEmulator
import Messenger
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

/// A local sender with free slots, as the queue sees it: keeps the send jobs handed to it
/// so the test runs them (or lets them die with a "crashed" process).
final class SendTaker: Sendable {
    static let worker = "local-sender"
    private let jobs = Mutex<[Job]>([])

    var taker: JobTaker {
        JobTaker(
            kinds: .only([.sendMessage]),
            worker: Self.worker,
            lease: .seconds(30),
            reserve: { _ in true },
            deliver: { [self] job in self.jobs.withLock { $0.append(job) } },
            release: {}
        )
    }

    /// The job handed over first, and not yet taken.
    func take() throws -> Job {
        try #require(jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() })
    }
}

/// On SQLite a send job enqueued while a local sender has a free slot is handed to it
/// straight from the transaction that queued the message; that transaction also writes the
/// send's "send started" mark, so the sender calls Meta without a durable write of its own.
/// The mark must still do its job: a crash mid-call waits for the echo, and a send
/// postponed before calling Meta does not leave it behind.
@Suite("Outbound: sends handed straight to the sender", .serialized, .timeLimit(.minutes(2)))
struct OutboundHandoffTests {
    @Test("a handed-off send carries its mark: sent at once, and after a crash mid-call reconciled by the echo, never sent twice")
    func handedOffSendIsMarked() async throws {
        try await RigEmulator.with { emulator, graph in
            try await SenderRig.with(.sqlite, graph: graph) { rig in
                let local = SendTaker()
                rig.store.queue.offer([local.taker])
                let first = try await rig.queue("handed over")
                let job = try local.take()
                #expect(job.handedOff)
                #expect(try await rig.store.outboundSendContext(messageId: first.id)?.sendStartedAt != nil)
                #expect(try await rig.sender.handle(job) == .finished)
                #expect(try await rig.message(first.id).status == .sent)
                #expect(emulator.sendCount == 1)

                // Handed over, then the process dies mid-call: Meta delivered it, nothing
                // was recorded. The lease lapses and a claim finds the mark: no second call.
                let second = try await rig.queue("maybe sent")
                _ = try local.take()
                rig.store.queue.withdrawTakers(of: SendTaker.worker)
                let delivered = try await RigEmulator.sendAsADyingProcess(graph, "maybe sent", messageId: second.id)
                rig.clock.advance(by: 31)
                try await rig.drain()
                #expect(emulator.sendCount == 2)
                #expect(try await rig.message(second.id).status == .queued)
                try await rig.inbound("maybe sent", mid: delivered.messageId, echoOf: second.id)
                #expect(try await rig.message(second.id).status == .sent)
                #expect(emulator.received(pageId: SenderRig.page, psid: "cust1").map(\.text) == ["handed over", "maybe sent"])
                #expect(try await rig.sendJobs() == 0)
            }
        }
    }

    @Test("a handed-off send postponed before calling Meta clears its mark: the next attempt sends without an echo wait")
    func postponedSendClearsItsMark() async throws {
        try await SenderRig.with(.sqlite) { rig in
            try await rig.store.markPageReauthorizationRequired(pageId: SenderRig.page, reason: "a test")
            let local = SendTaker()
            rig.store.queue.offer([local.taker])
            let waiting = try await rig.queue("waits for a token")
            let job = try local.take()
            #expect(job.handedOff)
            #expect(try await rig.sender.handle(job) == .deferred)
            #expect(try await rig.store.outboundSendContext(messageId: waiting.id)?.sendStartedAt == nil)
            rig.store.queue.withdrawTakers(of: SendTaker.worker)

            let box = SecretBox(secret: SenderRig.secret)
            try await rig.store.savePage(PageRecord(id: SenderRig.page, name: "Shop", sealedAccessToken: try box.seal("EAA-new-token")))
            try await rig.store.resumeSends(pageId: SenderRig.page)
            try await rig.drain()
            #expect(try await rig.message(waiting.id).status == .sent)
            #expect(rig.graph.sent.map(\.metadata) == [waiting.id])
        }
    }

    @Test(
        "a bot reply commits relaxed; handed over, it is on disk before the sender gets it, unless its answer's start already is"
    )
    func handedOffBotReplyIsDurable() async throws {
        try await BotRig.with(.sqlite, sqliteSync: .full) { rig in
            let database = try #require(rig.store.database as? SQLiteDatabase)
            let local = SendTaker()
            for (round, handedOver, startDurable) in [(1, false, false), (2, true, false), (3, true, true)] {
                try await rig.customer("Do you ship to Austria? (\(round))")
                rig.clock.advance(by: 3)
                var reply = try await rig.dueReply("We ship across the EU.", clientId: "bot-answer:handoff-\(round)")
                reply.startDurable = startDurable
                if handedOver { rig.store.queue.offer([local.taker]) }
                let before = database.logSyncs
                #expect(try await rig.store.queueBotReply(reply)?.queued == true)
                #expect(database.logSyncs - before == (handedOver && !startDurable ? 1 : 0), "round \(round)")
                if handedOver {
                    rig.store.queue.withdrawTakers(of: SendTaker.worker)
                    #expect(try await rig.base.sender.handle(try local.take()) == .finished)
                } else {
                    try await rig.drain()
                }
                #expect(rig.sentTexts.last == "We ship across the EU.")
            }
            #expect(rig.sentTexts.count == 3)
        }
    }
}
