import Foundation
public import GraphEmulator
import Logging
import Messenger
public import ServiceLifecycle
import SwitchboardCore
public import SwitchboardStore

/// Demo mode: with no Page configured, `serve` runs the Graph emulator in process, connects
/// its demo Page, and lets sample customers write now and then, so a newcomer sees live
/// traffic (and the whole pipeline: signed webhook → store → worker → API) without a
/// Facebook app.
public struct DemoMode: Sendable {
    public static let pageId = "100000000000001"
    public let emulator: GraphEmulator
    public let emulatorPort: Int

    /// Points the configuration at the emulator: its URL, its app id, and (when none is
    /// configured) a generated app secret both sides share.
    public static func prepare(_ configuration: inout SwitchboardConfiguration, emulatorPort: Int?) -> DemoMode {
        let port = emulatorPort ?? (configuration.port == 0 ? 3001 : configuration.port + 1)
        let secret = configuration.appSecret ?? AppSecret("demo-" + UUID().uuidString)
        configuration.appSecret = secret
        configuration.webhookVerifyToken = configuration.webhookVerifyToken ?? "switchboard-demo"
        configuration.graphAPIURL = "http://127.0.0.1:\(port)"
        let webhookHost = configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host
        var emulatorConfiguration = EmulatorConfiguration.demo(
            appSecret: secret,
            webhookURL: "http://\(webhookHost):\(configuration.port)/api/webhook/facebook"
        )
        if let appId = configuration.appId { emulatorConfiguration.appId = appId }
        configuration.appId = emulatorConfiguration.appId
        return DemoMode(emulator: GraphEmulator(configuration: emulatorConfiguration), emulatorPort: port)
    }

    /// Connects the demo Page (its token sealed with the configured secret).
    public func connectPage(store: SQLStore, secret: Secret) async throws {
        guard let page = emulator.configuration.pages.first else { return }
        let box = SecretBox(secret: secret.value)
        try await store.savePage(PageRecord(id: page.id, name: page.name, sealedAccessToken: try box.seal(page.token.exposedValue)))
        // The bot on, rule-based (no key needed), so a newcomer sees it answer and hand over;
        // settings an admin saved since are kept.
        if try await store.botSettings(pageId: page.id) == nil {
            try await store.saveBotSettings(pageId: page.id, BotPageSettings(enabled: true, settings: .demo))
        }
    }

    /// The emulator and the sample-traffic services.
    public func services(trafficInterval: Duration = .seconds(15)) -> [any Service] {
        guard let page = emulator.configuration.pages.first else { return [] }
        return [
            GraphEmulatorService(emulator: emulator, port: emulatorPort),
            DemoTrafficService(emulator: emulator, pageId: page.id, options: .init(interval: trafficInterval)),
        ]
    }
}

extension SwitchboardConfiguration {
    /// Decides demo mode once the database is known: no bootstrap Page and no Page
    /// connected other than the demo one.
    public mutating func noteConnectedPages(_ pageIds: [String]) {
        hasConnectedPages = pageIds.contains { $0 != DemoMode.pageId }
    }
}
