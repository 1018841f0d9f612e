import Foundation
import GraphEmulator
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Messenger
import NIOCore
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

@testable import SwitchboardApp

struct NoProfiles: ProfileSource {
    func profile(pageId: String, psid: String) async throws -> ContactProfile? { nil }
}

/// Switchboard served on a real port with its worker running, the Graph emulator playing
/// Meta (its webhooks go to Switchboard's webhook route), and every log line captured.
struct LiveRig: Sendable {
    static let pageId = "106123456789012"
    static let token = "EAAlive-page-token-do-not-leak-7f3a"

    let emulator: GraphEmulator
    let switchboard: Switchboard
    let client: any TestClientProtocol
    let apiToken: String
    let logs: LogCapture

    var store: SQLStore { switchboard.store }

    static func with(
        _ kind: TestDatabaseKind,
        pageToken: String = token,
        graphTimeout: Duration = .seconds(1),
        profiles: any ProfileSource = NoProfiles(),
        _ body: @Sendable (LiveRig) async throws -> Void
    ) async throws {
        let logs = LogCapture()
        let logger = logs.logger("outbound-test")
        let emulator = GraphEmulator(
            configuration: EmulatorConfiguration(
                appSecret: TestApp.appSecret,
                pages: [EmulatedPage(id: pageId, name: "Live Shop", token: PageAccessToken(pageToken))],
                echoDelay: .zero,
                deliveryDelay: .zero,
                readDelay: .zero,
                webhookRetryBackoff: .milliseconds(5),
                defaultHold: .seconds(3)
            ),
            logger: logger
        )
        try await GraphEmulatorServer.withRunning(emulator) { baseURL in
            try await TestDatabase.with(kind) { database in
                var configuration = TestApp.configuration()
                configuration.graphAPIURL = baseURL
                configuration.graphTimeout = graphTimeout
                configuration.workerConcurrency = 4
                configuration.outbound = OutboundSenderConfiguration(
                    echoWait: .seconds(3),
                    backoff: Backoff(base: .milliseconds(20), cap: .milliseconds(100)),
                    maxRetryableAttempts: 8,
                    reauthorizationRecheck: .seconds(60)
                )
                let switchboard = Switchboard(configuration: configuration, database: database, logger: logger)
                let apiToken = APITokens.generate()
                _ = try await switchboard.store.createAPIToken(name: "live", tokenHash: APITokens.hash(apiToken))
                let application = Application(router: switchboard.makeRouter(role: .web), logger: logger)
                try await application.test(.live) { client in
                    emulator.setWebhookURL("http://127.0.0.1:\(client.port ?? 0)/api/webhook/facebook")
                    let worker = switchboard.makeWorker(profiles: profiles)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await worker.run() }
                        defer { group.cancelAll() }
                        try await body(LiveRig(emulator: emulator, switchboard: switchboard, client: client, apiToken: apiToken, logs: logs))
                    }
                }
            }
        }
    }

    func request(_ method: HTTPRequest.Method, _ uri: String, _ json: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(apiToken)"]
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    func connectPage(token: String = token) async throws -> TestResponse {
        try await request(.post, "/api/pages", #"{"id":"\#(Self.pageId)","accessToken":"\#(token)"}"#)
    }

    /// A customer who wrote just now, and the conversation Switchboard made of it.
    func customer(_ first: String = "Ana") async throws -> (CustomerSimulator, String) {
        let customer = emulator.addCustomer(pageId: Self.pageId, firstName: first, lastName: "Silva")
        try await customer.say("hello from \(first)")
        let id = try await eventually("the conversation") {
            try await store.conversations(ConversationQuery(pageId: Self.pageId)).items.first { $0.contact.psid == customer.psid }?.id
        }
        return (customer, id)
    }

    func send(_ conversation: String, _ text: String, clientId: String) async throws -> String {
        let response = try await request(.post, "/api/conversations/\(conversation)/messages", #"{"text":"\#(text)","clientId":"\#(clientId)"}"#)
        #expect(response.status == .accepted)
        return try #require((response.json["message"] as? [String: Any])?["id"] as? String)
    }

    func outbound(_ conversation: String) async throws -> [Message] {
        try await store.messages(conversationId: conversation, limit: 500, before: nil).items.filter { $0.direction == .outbound }
    }
}

/// A Graph API that stopped answering profile lookups: each waits until cancelled.
struct HangingProfiles: ProfileSource {
    func profile(pageId: String, psid: String) async throws -> ContactProfile? {
        try await Task.sleep(for: .seconds(3600))
        return nil
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Awaits a condition with a bounded deadline (checks every 20 ms).
func eventually<T>(_ what: String, timeout: Duration = .seconds(30), _ probe: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try await probe() { return value }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimedOut(description: "timed out waiting for \(what)")
}

@Suite("Outbound against the Graph emulator", .serialized, .timeLimit(.minutes(3)))
struct OutboundEmulatorTests {
    @Test("20 messages with a 1200 on the 3rd and a timeout-after-accept on the 7th arrive in order, each once", arguments: TestDatabaseKind.all)
    func orderUnderFaults(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind) { rig in
            #expect(try await rig.connectPage().status == .created)
            let (customer, conversation) = try await rig.customer()
            rig.emulator.inject(Fault(.graphError(code: 1200), nthSend: 3))
            rig.emulator.inject(Fault(.timeoutAfterAccepting(hold: .seconds(3)), nthSend: 7))
            let texts = (1...20).map { "reply \($0)" }
            for (n, text) in texts.enumerated() {
                _ = try await rig.send(conversation, text, clientId: "order-\(n)")
            }
            let done = try await eventually("every message sent", timeout: .seconds(60)) {
                let messages = try await rig.outbound(conversation)
                return messages.count == 20 && messages.allSatisfy({ $0.status != .queued }) ? messages : nil
            }
            #expect(done.allSatisfy { $0.status != .failed })
            let received = rig.emulator.received(pageId: LiveRig.pageId, psid: customer.psid)
            #expect(received.map(\.text) == texts)
            #expect(Set(received.compactMap(\.metadata)).count == 20)
            #expect(Set(done.compactMap(\.facebookMessageId)).count == 20)
            #expect(Set(done.compactMap(\.facebookMessageId)) == Set(received.map(\.mid)))
        }
    }

    @Test("a sent message ticks to delivered and read from the emulator's webhooks", arguments: TestDatabaseKind.all)
    func ticks(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind) { rig in
            #expect(try await rig.connectPage().status == .created)
            let (_, conversation) = try await rig.customer()
            let events = rig.switchboard.hub.subscribe()
            let id = try await rig.send(conversation, "tick tock", clientId: "tick")
            let read = try await eventually("the read tick") {
                try await rig.outbound(conversation).first { $0.id == id && $0.status == .read }
            }
            #expect(read.facebookMessageId != nil)
            #expect(read.sentAt != nil)
            #expect(read.deliveredAt != nil)
            #expect(read.readAt != nil)
            var names: [String] = []
            for await event in events {
                names.append(event.name)
                if event.name == "message:status", event.payload.contains(#""status":"read""#) { break }
            }
            #expect(names.contains("message:sent"))
            #expect(names.firstIndex(of: "message:sent")! < names.lastIndex(of: "message:status")!)
        }
    }

    @Test("190 stops the Page's sends; a new token resumes them in order; the token never leaks", arguments: TestDatabaseKind.all)
    func reauthorization(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind) { rig in
            let connected = try await rig.connectPage()
            #expect(connected.status == .created)
            #expect(rig.emulator.subscribedFields(pageId: LiveRig.pageId).contains("message_echoes"))
            let (customer, conversation) = try await rig.customer()
            rig.emulator.inject(Fault(.graphError(code: 190), pageId: LiveRig.pageId))
            let first = try await rig.send(conversation, "first", clientId: "r1")
            _ = try await eventually("reauthorization required") {
                try await rig.store.page(id: LiveRig.pageId)?.state == .reauthorizationRequired ? true : nil
            }
            let second = try await rig.send(conversation, "second", clientId: "r2")
            let pages = try await rig.request(.get, "/api/pages")
            #expect((pages.json["pages"] as? [[String: Any]])?.first?["state"] as? String == "reauthorization_required")
            #expect(try await rig.outbound(conversation).map(\.status) == [.queued, .queued])

            let wrong = try await rig.connectPage(token: "EAAnot-this-page")
            #expect(wrong.status == .badRequest)
            #expect(wrong.errorCode == "page_token_invalid")
            #expect(try await rig.connectPage().status == .created)
            let sent = try await eventually("both sent after the new token") {
                let messages = try await rig.outbound(conversation)
                return messages.allSatisfy({ $0.status != .queued }) ? messages : nil
            }
            #expect(sent.map(\.id) == [first, second])
            #expect(rig.emulator.received(pageId: LiveRig.pageId, psid: customer.psid).map(\.text) == ["first", "second"])

            // Typing and seen go directly, one of each per conversation within the interval.
            let typing = try await rig.request(.post, "/api/conversations/\(conversation)/typing", #"{"state":"on"}"#)
            #expect(typing.status == .accepted)
            #expect(typing.json["sent"] as? Bool == true)
            let again = try await rig.request(.post, "/api/conversations/\(conversation)/typing", #"{"state":"on"}"#)
            #expect(again.json["sent"] as? Bool == false)
            #expect(try await rig.request(.post, "/api/conversations/\(conversation)/seen").status == .accepted)
            let bad = try await rig.request(.post, "/api/conversations/\(conversation)/typing", #"{"state":"maybe"}"#)
            #expect(bad.status == .badRequest)
            #expect(rig.emulator.senderActions(pageId: LiveRig.pageId, psid: customer.psid).map(\.action) == ["typing_on", "mark_seen"])

            // The token is in no log line and no API answer.
            let answers = [connected.text, pages.text, wrong.text, try await rig.request(.get, "/api/pages").text]
            #expect(answers.allSatisfy { !$0.contains(LiveRig.token) })
            let lines = rig.logs.all
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { !$0.contains(LiveRig.token) && !$0.contains("EAAnot-this-page") })
            #expect(lines.allSatisfy { !$0.contains("access_token=") })
        }
    }

    // The worker runs Graph calls apart from ingestion. Both tests hold more Graph calls open
    // than the rig has general slots (4); before the lanes, the next customer's message
    // then waited for Meta (the test's 30 s wait ends long before the calls would).

    @Test("sends hanging on Meta never hold back the next customer's message", arguments: TestDatabaseKind.all)
    func hangingSendsLeaveIngestAlone(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind, graphTimeout: .seconds(90)) { rig in
            #expect(try await rig.connectPage().status == .created)
            var conversations: [String] = []
            for name in ["Ana", "Bea", "Cai", "Dan", "Eli", "Fay"] {
                conversations.append(try await rig.customer(name).1)
            }
            rig.emulator.inject(Fault(.timeoutAfterAccepting(hold: .seconds(600)), pageId: LiveRig.pageId, count: conversations.count))
            for (n, conversation) in conversations.enumerated() {
                _ = try await rig.send(conversation, "held \(n)", clientId: "held-\(n)")
            }
            _ = try await eventually("every send to reach Meta and hang") {
                rig.emulator.sendCount >= conversations.count ? true : nil
            }
            let (_, latecomer) = try await rig.customer("Gus")
            #expect(try await rig.store.messages(conversationId: latecomer, limit: 10, before: nil).items.map(\.text) == ["hello from Gus"])
        }
    }

    @Test("profile lookups hanging on Meta never hold back the next customer's message", arguments: TestDatabaseKind.all)
    func hangingProfilesLeaveIngestAlone(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind, profiles: HangingProfiles()) { rig in
            #expect(try await rig.connectPage().status == .created)
            for name in ["Ana", "Bea", "Cai", "Dan", "Eli", "Fay", "Gus"] {
                let (_, conversation) = try await rig.customer(name)
                #expect(
                    try await rig.store.messages(conversationId: conversation, limit: 10, before: nil).items.map(\.text) == ["hello from \(name)"]
                )
            }
        }
    }
}
