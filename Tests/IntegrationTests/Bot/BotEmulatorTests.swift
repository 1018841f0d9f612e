import Foundation
import GraphEmulator
import HTTPTypes
import HummingbirdTesting
import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardApp

/// The whole path with the real worker: the emulator's customer writes, the webhook is
/// stored and applied, the bot answers through the Send API (emulated over HTTP), and the
/// echo comes back. The debounce is 0 so the real clock adds no wait.
@Suite("Bot against the Graph emulator", .serialized, .timeLimit(.minutes(3)))
struct BotEmulatorTests {
    @Test(
        "one reply marked as the bot's after typing_on; 'a person please' hands over; an agent's reply keeps it quiet",
        arguments: TestDatabaseKind.all
    )
    func endToEnd(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind) { rig in
            #expect(try await rig.connectPage().status == .created)
            let (customer, conversation) = try await rig.customer()
            var settings = BotSettings.demo
            settings.debounceSeconds = 0
            try await rig.store.saveBotSettings(pageId: LiveRig.pageId, BotPageSettings(enabled: true, settings: settings))
            let events = rig.switchboard.hub.subscribe()

            try await customer.say("Do you ship to Austria?")
            let answered = try await eventually("the bot's answer is sent") {
                try await rig.outbound(conversation).first { $0.author == .bot && $0.status != .queued }
            }
            #expect(answered.text?.contains("We ship across the EU") == true)
            let received = rig.emulator.received(pageId: LiveRig.pageId, psid: customer.psid)
            #expect(received.map(\.text) == [answered.text])
            #expect(received.first?.metadata == answered.id)
            #expect(rig.emulator.senderActions(pageId: LiveRig.pageId, psid: customer.psid).map(\.action) == ["typing_on"])

            try await customer.say("Can I talk to a person please?")
            for await event in events where event.name == "conversation:bot" {
                #expect(event.payload.contains(#""reason":"customer_asked_for_human""#))
                break
            }
            let notice = try await eventually("the handover notice is sent") {
                try await rig.outbound(conversation).first { $0.author == .bot && $0.text == settings.texts.handover && $0.status != .queued }
            }
            #expect(notice.facebookMessageId != nil)

            // A person answers; the customer writes again; the bot stays quiet.
            _ = try await rig.send(conversation, "Hi, Anna here!", clientId: "agent-1")
            try await customer.say("Do you ship to Italy?")
            let all = try await eventually("the agent's reply and the new message are stored") {
                let messages = try await rig.store.messages(conversationId: conversation, limit: 100, before: nil).items
                return messages.contains { $0.text == "Do you ship to Italy?" }
                    && messages.contains { $0.text == "Hi, Anna here!" && $0.status != .queued }
                    ? messages : nil
            }
            #expect(all.filter { $0.author == .bot }.count == 2)
            #expect(try await rig.store.botConversation(id: conversation)?.state.pauseReason == .agentReplied)
        }
    }
}
