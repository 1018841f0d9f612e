import AsyncHTTPClient
import Foundation
import GraphEmulator
import Messenger
import NIOCore
import NIOHTTP1
import Testing

@Suite(.timeLimit(.minutes(1))) struct GraphCallsTests {
    @Test func profilesMeAndSubscriptions() async throws {
        try await Harness.run { h in
            let ana = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            let profile = try await h.graph.userProfile(psid: ana.psid, token: Harness.token)
            #expect(profile.firstName == "Ana")
            #expect(profile.displayName == "Ana Silva")
            let picture = try #require(profile.profilePicURL)
            let svg = try await HTTPClient.shared.execute(HTTPClientRequest(url: picture), timeout: .seconds(5))
            #expect(svg.status.code == 200)
            #expect(svg.headers.first(name: "content-type") == "image/svg+xml")
            #expect(String(buffer: try await svg.body.collect(upTo: 1 << 16)).contains(">AS<"))

            let hidden = h.emulator.addCustomer(pageId: h.page, firstName: "X", lastName: "Y", profile: .empty)
            #expect(try await h.graph.userProfile(psid: hidden.psid, token: Harness.token) == UserProfile())
            let phone = h.emulator.addCustomer(pageId: h.page, firstName: "X", lastName: "Y", profile: .unavailable)
            #expect(try await h.graph.userProfile(psid: phone.psid, token: Harness.token) == UserProfile())
            do {
                _ = try await h.graph.userProfile(psid: "999", token: Harness.token)
                Issue.record("an unknown PSID must fail")
            } catch let error as GraphError {
                #expect(error.body?.code == 100)
            }

            let me = try await h.graph.me(token: Harness.token)
            #expect(me == PageIdentity(id: h.page, name: "Test Shop"))

            #expect(try await h.graph.subscribedApps(pageId: h.page, token: Harness.token).isEmpty)
            try await h.graph.subscribeApp(pageId: h.page, token: Harness.token)
            let apps = try await h.graph.subscribedApps(pageId: h.page, token: Harness.token)
            #expect(apps.first?.id == "947561230458812")
            #expect(apps.first?.subscribedFields == GraphClient.defaultSubscribedFields)
            #expect(h.emulator.subscribedFields(pageId: h.page).contains("message_echoes"))
        }
    }

    @Test func sendRequestShapes() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            let mid = try await c.say("photo please")
            _ = await posts.next()
            let request = SendRequest(
                recipientPSID: c.psid,
                messagingType: .update,
                content: .attachment(type: .image, url: "https://example.com/jacket.jpg"),
                quickReplies: [QuickReply(title: "Buy", payload: "BUY"), QuickReply(title: "Later", payload: "LATER")],
                metadata: "sb_out_9",
                replyToMid: mid
            )
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: request)
            let received = try #require(h.emulator.received(pageId: h.page, psid: c.psid).first)
            #expect(received.attachmentType == "image")
            #expect(received.attachmentURL == "https://example.com/jacket.jpg")
            #expect(received.quickReplies == ["Buy", "Later"])
            #expect(received.messagingType == "UPDATE")
            #expect(received.replyToMid == mid)
            let echo = try WebhookReceiver.decode(try #require(await posts.next()))
            guard case .echo(let e) = echo.first?.payload else {
                Issue.record("expected the echo")
                return
            }
            #expect(e.attachments == [WebhookAttachment(type: "image", url: "https://example.com/jacket.jpg")])
        }
    }

    @Test func controlAPIOverHTTP() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let created = try await h.raw(
                .POST,
                "/_emulator/pages/\(h.page)/customers",
                json: #"{"firstName":"Eve","lastName":"Ng","psid":"6000000000000001"}"#
            )
            #expect(created.status == 201)
            let said = try await h.raw(.POST, "/_emulator/pages/\(h.page)/customers/6000000000000001/messages", json: #"{"text":"hello from curl"}"#)
            #expect(said.status == 200)
            #expect(said.body.contains(#""mid":"m_"#))
            _ = await posts.next()

            let fault = try await h.raw(.POST, "/_emulator/faults", json: #"{"psid":"6000000000000001","error":{"code":2}}"#)
            #expect(fault.status == 201)
            do {
                _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("x", to: "6000000000000001"))
                Issue.record("the fault must apply")
            } catch let error as GraphError {
                #expect(error.body?.code == 2)
                #expect(error.isAmbiguous)
            }
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("ok now", to: "6000000000000001"))
            let received = try await h.raw(.GET, "/_emulator/pages/\(h.page)/customers/6000000000000001/received")
            #expect(received.body.contains(#""text":"ok now""#))

            let before = try await h.raw(.GET, "/_emulator/clock")
            #expect(before.status == 200)
            #expect(before.body.contains("nowMs"))
            let clock = try await h.raw(.POST, "/_emulator/clock", json: #"{"advanceSeconds":86460}"#)
            #expect(clock.status == 200)
            let customers = try await h.raw(.GET, "/_emulator/pages/\(h.page)/customers")
            #expect(customers.body.contains(#""firstName":"Eve""#))
            let faults = try await h.raw(.DELETE, "/_emulator/faults")
            #expect(faults.status == 200)
            do {
                _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("late", to: "6000000000000001"))
                Issue.record("the window must be closed")
            } catch let error as GraphError {
                #expect(error.body?.subcode == 2_018_278)
            }
        }
    }
}
