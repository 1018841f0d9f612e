import Foundation
import HTTPTypes
import HummingbirdTesting
import Messenger
import NIOCore
import SwitchboardApp
import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

@Suite("Webhook endpoint")
struct WebhookRouteTests {
    static let path = "/api/webhook/facebook"

    @Test("verification handshake", arguments: TestDatabaseKind.all)
    func verification(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { _, client in
            let ok = try await client.execute(
                uri: "\(Self.path)?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
                method: .get
            )
            #expect(ok.status == .ok)
            #expect(ok.text == "1158201444")
            for query in [
                "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
                "hub.challenge=1",
            ] {
                let refused = try await client.execute(uri: "\(Self.path)?\(query)", method: .get)
                #expect(refused.status == .forbidden, "\(query)")
                #expect(refused.errorCode != nil)
            }
            let simple = try await client.execute(
                uri: "\(Self.path)/simple?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42",
                method: .get
            )
            #expect(simple.text == "42")
        }
    }

    @Test("no verify token configured: the handshake is refused")
    func verificationUnconfigured() async throws {
        var configuration = TestApp.configuration()
        configuration.webhookVerifyToken = nil
        try await TestApp.with(.sqlite, configuration: configuration) { _, client in
            let refused = try await client.execute(uri: "\(Self.path)?hub.mode=subscribe&hub.verify_token=&hub.challenge=1", method: .get)
            #expect(refused.status == .forbidden)
            #expect(refused.errorCode == "verify_token_unconfigured")
        }
    }

    enum SignatureCase: String, CaseIterable, Sendable {
        case valid, invalid, missing, wrongPrefix, alteredByOneByte, unicodeBody, uppercaseHex
    }

    @Test("signatures", arguments: TestDatabaseKind.all, SignatureCase.allCases)
    func signatures(kind: TestDatabaseKind, signatureCase: SignatureCase) async throws {
        try await TestApp.with(kind) { app, client in
            var body = Webhook.body([Webhook.message(psid: "sig", mid: "m_sig", text: "hello", timestamp: 1)])
            var headers = TestApp.signed(body)
            let header = HTTPField.Name("X-Hub-Signature-256")!
            switch signatureCase {
            case .valid: break
            case .invalid: headers[header] = "sha256=" + String(repeating: "0", count: 64)
            case .missing: headers[header] = nil
            case .wrongPrefix:
                headers[header] = "sha1=" + headers[header]!.dropFirst("sha256=".count)
            case .alteredByOneByte:
                body[body.count / 2] ^= 0x01
            case .unicodeBody:
                body = Array(
                    #"{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"u"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m_u","text":"Grüße 👋 \u00fc 你好"}}]}]}"#
                        .utf8
                )
                headers = TestApp.signed(body)
            case .uppercaseHex:
                headers[header] = "sha256=" + headers[header]!.dropFirst("sha256=".count).uppercased()
            }
            let response = try await client.execute(uri: Self.path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            let stored = try await app.switchboard.store.counts().webhooksReceived
            switch signatureCase {
            case .valid, .unicodeBody, .uppercaseHex:
                #expect(response.status == .ok)
                #expect(response.text == "EVENT_RECEIVED")
                #expect(stored == 1)
                let id = try #require(try await app.switchboard.store.webhookIds().first)
                #expect(try await app.switchboard.store.webhookBody(id: id) == body, "stored byte for byte")
            case .invalid, .missing, .wrongPrefix, .alteredByOneByte:
                #expect(response.status == .forbidden)
                #expect(response.errorCode?.hasPrefix("webhook_signature") == true, "\(response.text)")
                #expect(stored == 0)
            }
        }
    }

    @Test("bodies over the limit get 413 and nothing is stored", arguments: TestDatabaseKind.all)
    func tooLarge(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind, configuration: TestApp.configuration(maxBytes: 2048)) { app, client in
            let body = Webhook.body([Webhook.message(psid: "big", mid: "m_big", text: String(repeating: "x", count: 4096), timestamp: 1)])
            let response = try await client.execute(uri: Self.path, method: .post, headers: TestApp.signed(body), body: ByteBuffer(bytes: body))
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "payload_too_large")
            #expect(try await app.switchboard.store.counts().webhooksReceived == 0)
        }
    }

    @Test("storage failing answers 503 so Meta retries", arguments: TestDatabaseKind.all)
    func storageFailing(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            try await app.switchboard.database.transaction { try await $0.query("ALTER TABLE webhook_events RENAME TO webhook_events_gone") }
            let body = Webhook.body([Webhook.message(psid: "s", mid: "m_s", text: "t", timestamp: 1)])
            let response = try await client.execute(uri: Self.path, method: .post, headers: TestApp.signed(body), body: ByteBuffer(bytes: body))
            #expect(response.status == .serviceUnavailable)
            #expect(response.errorCode == "storage_unavailable")
            #expect(response.headers[.retryAfter] != nil)
        }
    }

    @Test("the simple endpoint acknowledges without storing")
    func simple() async throws {
        try await TestApp.with(.sqlite) { app, client in
            let response = try await client.execute(uri: "\(Self.path)/simple", method: .post, body: ByteBuffer(string: "anything"))
            #expect(response.status == .ok)
            #expect(try await app.switchboard.store.counts().webhooksReceived == 0)
        }
    }
}
