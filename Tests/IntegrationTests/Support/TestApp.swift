import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Messenger
import NIOCore
import SwitchboardApp
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport

/// A Switchboard over a fresh test database, with an API token, driven through
/// Hummingbird's router tester (real routes, middleware and store; no socket).
struct TestApp {
    static let appSecret = AppSecret("test-app-secret-0123456789")
    static let verifyToken = "verify-me"

    let switchboard: Switchboard
    let token: String

    static func configuration(maxBytes: Int = 64 * 1024) -> SwitchboardConfiguration {
        var configuration = SwitchboardConfiguration(secret: Secret("test-secret-that-is-long-enough"))
        configuration.appSecret = appSecret
        configuration.webhookVerifyToken = verifyToken
        configuration.webhookMaxBytes = maxBytes
        configuration.appId = "947561230458812"
        return configuration
    }

    static func with<T: Sendable>(
        _ kind: TestDatabaseKind,
        configuration: SwitchboardConfiguration = configuration(),
        clock: any WallClock = SystemWallClock(),
        _ body: @Sendable (TestApp, any TestClientProtocol) async throws -> T
    ) async throws -> T {
        try await TestDatabase.with(kind) { database in
            let switchboard = Switchboard(configuration: configuration, database: database, clock: clock, logger: TestDatabase.logger)
            let token = APITokens.generate()
            _ = try await switchboard.store.createAPIToken(name: "test", tokenHash: APITokens.hash(token))
            let app = TestApp(switchboard: switchboard, token: token)
            let application = Application(router: switchboard.makeRouter(role: .web), logger: TestDatabase.logger)
            return try await application.test(.router) { client in try await body(app, client) }
        }
    }

    var auth: HTTPFields { [.authorization: "Bearer \(token)"] }

    static func signed(_ body: [UInt8], secret: AppSecret = appSecret) -> HTTPFields {
        [HTTPField.Name("X-Hub-Signature-256")!: WebhookSignature.sign(body: body, appSecret: secret), .contentType: "application/json"]
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}
