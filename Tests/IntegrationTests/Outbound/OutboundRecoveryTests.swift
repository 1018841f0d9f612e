import AsyncHTTPClient
import Foundation
import GraphEmulator
import Messenger
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

/// The Graph emulator playing Meta for a `SenderRig`: the rig's Page and token, its
/// customer `cust1`, who wrote just now on the emulator's clock. The clock is frozen, so
/// its per-second usage count moves only when a test moves it; webhooks stay in its outbox
/// (the rig stores the ones a test needs itself).
enum RigEmulator {
    static func with(
        callsPerSecond: Int = 300,
        throttleCode: Int = 613,
        _ body: @Sendable (GraphEmulator, GraphClient) async throws -> Void
    ) async throws {
        let emulator = GraphEmulator(
            configuration: EmulatorConfiguration(
                appSecret: TestApp.appSecret,
                pages: [EmulatedPage(id: SenderRig.page, name: "Shop", token: PageAccessToken(SenderRig.pageToken))],
                callsPerSecondPerPage: callsPerSecond,
                throttleCode: throttleCode
            ),
            logger: TestDatabase.logger
        )
        emulator.clock.freeze()
        emulator.addCustomer(pageId: SenderRig.page, psid: "cust1", firstName: "Ana", lastName: "Silva", readsMessages: false)
        emulator.setLastInbound(pageId: SenderRig.page, psid: "cust1", at: emulator.clock.now)
        try await GraphEmulatorServer.withRunning(emulator) { baseURL in
            try await body(emulator, GraphClient(httpClient: .shared, configuration: .init(baseURL: baseURL, timeout: .seconds(10))))
        }
    }

    /// What a process does before it dies mid-send: calls the Send API for the rig's
    /// customer with our message id in `metadata`, and records nothing.
    static func sendAsADyingProcess(_ graph: GraphClient, _ text: String, messageId: String) async throws -> SendResult {
        try await graph.send(
            pageId: SenderRig.page,
            token: PageAccessToken(SenderRig.pageToken),
            request: SendRequest(recipientPSID: "cust1", content: .text(text), metadata: messageId)
        )
    }
}

@Suite("Outbound recovery: crashes mid-send, unreachable contacts", .serialized, .timeLimit(.minutes(2)))
struct OutboundRecoveryTests {
    @Test("a send cut off by a crash waits for the echo instead of sending twice", arguments: TestDatabaseKind.all)
    func crashMidSend(kind: TestDatabaseKind) async throws {
        try await RigEmulator.with { emulator, graph in
            try await SenderRig.with(kind, graph: graph) { rig in
                let first = try await rig.queue("maybe sent")
                let second = try await rig.queue("after it")
                // A process claims the send, calls Meta (which delivers it) and dies before
                // recording the answer.
                let job = try #require(try await rig.store.queue.claim(limit: 1, worker: "dead", lease: .seconds(30)).first)
                #expect(String(decoding: job.payload, as: UTF8.self) == first.id)
                try await rig.store.beginSendAttempt(messageId: first.id)
                let delivered = try await RigEmulator.sendAsADyingProcess(graph, "maybe sent", messageId: first.id)

                // Its lease lapses; the next attempt knows the outcome is unknown: no call.
                rig.clock.advance(by: 31)
                try await rig.drain()
                #expect(emulator.sendCount == 1)
                #expect(try await rig.message(first.id).status == .queued)
                #expect(try await rig.message(second.id).status == .queued)

                // Meta's echo carries our id: the message is sent, and the conversation goes
                // on at once instead of waiting out the echo wait.
                try await rig.inbound("maybe sent", mid: delivered.messageId, echoOf: first.id)
                let reconciled = try await rig.message(first.id)
                #expect(reconciled.status == .sent)
                #expect(reconciled.facebookMessageId == delivered.messageId)
                #expect(try await rig.message(second.id).status == .sent)
                #expect(emulator.received(pageId: SenderRig.page, psid: "cust1").map(\.text) == ["maybe sent", "after it"])
                #expect(try await rig.sendJobs() == 0)

                // Cut off before Meta got it, and no echo comes: sent once after the wait.
                let lost = try await rig.queue("lost in the crash")
                _ = try #require(try await rig.store.queue.claim(limit: 1, worker: "dead", lease: .seconds(30)).first)
                try await rig.store.beginSendAttempt(messageId: lost.id)
                rig.clock.advance(by: 31)
                try await rig.drain()
                #expect(emulator.sendCount == 2)
                rig.clock.advance(by: 10)
                try await rig.drain()
                #expect(try await rig.message(lost.id).status == .sent)
                #expect(emulator.received(pageId: SenderRig.page, psid: "cust1").map(\.text) == ["maybe sent", "after it", "lost in the crash"])
            }
        }
    }

    @Test("a contact Meta calls unreachable gets nothing more until they write again", arguments: TestDatabaseKind.all)
    func unreachableContact(kind: TestDatabaseKind) async throws {
        try await RigEmulator.with { emulator, graph in
            try await SenderRig.with(kind, graph: graph) { rig in
                emulator.inject(Fault(.graphError(code: 551, subcode: 1_545_041), psid: "cust1"))
                let refused = try await rig.queue("first")
                let blocked = try await rig.queue("second")
                try await rig.drain()
                #expect(try await rig.message(refused.id).error?.kind == "graph.recipient_unreachable")
                let failed = try await rig.message(blocked.id)
                #expect(failed.status == .failed)
                #expect(failed.error?.kind == "contact.unreachable")
                #expect(failed.error?.code == nil)
                #expect(failed.error?.message.contains("write to the Page") == true)
                // Refused before calling Meta: the emulator saw only the first send.
                #expect(emulator.sendCount == 1)
                #expect(try await rig.store.conversation(id: rig.conversationId)?.contact.unreachable == true)

                // A replayed older message does not clear the mark (replays change nothing).
                try await rig.inbound("an old hello", mid: "m_in_old", secondsAgo: 30)
                let stillBlocked = try await rig.queue("third")
                try await rig.drain()
                #expect(try await rig.message(stillBlocked.id).error?.kind == "contact.unreachable")
                #expect(emulator.sendCount == 1)

                // The customer writes again: sends go through.
                rig.clock.advance(by: 1)
                try await rig.inbound("I'm back", mid: "m_in_back")
                #expect(try await rig.store.conversation(id: rig.conversationId)?.contact.unreachable == false)
                let resumed = try await rig.queue("welcome back")
                try await rig.drain()
                #expect(try await rig.message(resumed.id).status == .sent)
                #expect(emulator.received(pageId: SenderRig.page, psid: "cust1").map(\.text) == ["welcome back"])
            }
        }
    }
}

/// Drains the rig with the pacer's clock jumping to the end of every wait it starts, and
/// the emulator's clock moving by the same amount: pacing runs as fast as the machine
/// allows and takes the same steps on every run. Returns the waits, keyed by how many
/// messages the emulator had received when each began.
func drainPaced(_ rig: SenderRig, clock: ManualClock, emulator: GraphEmulator) async throws -> [Int: Duration] {
    let waits = Mutex<[Int: Duration]>([:])
    clock.advanceOnSleep { wait in
        let sent = emulator.received(pageId: SenderRig.page, psid: "cust1").count
        waits.withLock { $0[sent, default: .zero] += wait }
        let (seconds, attoseconds) = wait.components
        emulator.clock.advance(by: Double(seconds) + Double(attoseconds) / 1e18)
    }
    defer { clock.advanceOnSleep(nil) }
    try await rig.drain()
    return waits.withLock { $0 }
}

@Suite("Outbound pacing against the emulator's usage header", .serialized, .timeLimit(.minutes(2)))
struct OutboundPacingTests {
    /// The emulator allows 10 calls per second and the pacer is set to the same rate: the
    /// sender waits 100 ms between sends until the usage header passes 80 %, longer above
    /// it; no second carries more than 9 calls (95 % of the limit, rounded down), so usage
    /// never reaches 100 % and nothing provokes a 613. The pacer's clock is a manual clock,
    /// moved (with the emulator's) by exactly each wait it asks for.
    @Test("usage above 80 % stretches the sender's waits; it never hits the limit", arguments: TestDatabaseKind.all)
    func slowsDownAbove80Percent(kind: TestDatabaseKind) async throws {
        try await RigEmulator.with(callsPerSecond: 10) { emulator, graph in
            let clock = ManualClock()
            let pacer = PageThrottle(clock: clock, configuration: PageRateLimits(standardPerSecond: 10))
            var configuration = SenderRig.defaultConfiguration
            configuration.maxInlineRateWait = .seconds(5)
            try await SenderRig.with(kind, graph: graph, pacer: pacer, configuration: configuration) { rig in
                let texts = (1...12).map { "reply \($0)" }
                for text in texts { try await rig.queue(text) }
                let waits = try await drainPaced(rig, clock: clock, emulator: emulator)
                let tick = Duration.milliseconds(100)
                // Up to 80 % (8 sends in the second): the plain rate.
                for sent in 1...8 { #expect(waits[sent] == tick, "after \(sent) sends") }
                // Nine calls in the second: the tenth waits until the first has left it, so
                // usage never reaches 100 %.
                #expect(waits[9] == .milliseconds(200))
                // From there on usage reads 90 %: a little slower than the plain rate.
                for sent in 10...11 { #expect(waits[sent].map { $0 > tick && $0 < .milliseconds(110) } == true, "after \(sent) sends") }
                #expect(emulator.received(pageId: SenderRig.page, psid: "cust1").map(\.text) == texts)
                #expect(emulator.sendCount == texts.count)
            }
        }
    }

    @Test("613 or 32 with a regain time pauses the Page: nothing is called until it passes", arguments: TestDatabaseKind.all, [613, 32])
    func throttlingPausesThePage(kind: TestDatabaseKind, code: Int) async throws {
        try await RigEmulator.with(callsPerSecond: 10, throttleCode: code) { emulator, graph in
            let clock = ManualClock()
            let pacer = PageThrottle(clock: clock)
            try await SenderRig.with(kind, graph: graph, pacer: pacer) { rig in
                let texts = (1...12).map { "reply \($0)" }
                var ids: [String] = []
                for text in texts { ids.append(try await rig.queue(text).id) }
                // The pacer (300/s) sends faster than this Page's 10/s: the 11th call is
                // refused with the code and "regain access in 1 minute".
                _ = try await drainPaced(rig, clock: clock, emulator: emulator)
                #expect(emulator.sendCount == 11)
                #expect(emulator.received(pageId: SenderRig.page, psid: "cust1").count == 10)
                #expect(await pacer.pausedUntil(page: SenderRig.page) == ManualClock.Instant(offset: .seconds(60)))
                #expect(try await rig.message(ids[10]).status == .queued)
                #expect(try await rig.message(ids[11]).status == .queued)

                // The job comes back after the pause on the wall clock, but the pacer's own
                // clock says the Page is still paused: rescheduled, no call.
                rig.clock.advance(by: 61)
                _ = try await drainPaced(rig, clock: clock, emulator: emulator)
                #expect(emulator.sendCount == 11)

                clock.advance(by: .seconds(60))
                emulator.clock.advance(by: 60)
                rig.clock.advance(by: 61)
                _ = try await drainPaced(rig, clock: clock, emulator: emulator)
                #expect(await pacer.pausedUntil(page: SenderRig.page) == nil)
                #expect(emulator.received(pageId: SenderRig.page, psid: "cust1").map(\.text) == texts)
                #expect(emulator.sendCount == 13)
                for id in ids { #expect(try await rig.message(id).status == .sent) }
            }
        }
    }
}
