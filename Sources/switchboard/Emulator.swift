import ArgumentParser
import Foundation
import GraphEmulator
import Hummingbird
import Messenger
import ServiceLifecycle
import UnixSignals

struct Emulator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Graph API emulator: a local graph.facebook.com with a demo Page and customers.",
        discussion: """
            Point a server at it with GRAPH_API_URL=http://127.0.0.1:PORT. The emulator posts signed webhooks (customer
            messages, echoes, deliveries, reads) to --webhook-url with FACEBOOK_APP_SECRET. Control routes under /_emulator/
            inject faults and read what customers received (see docs/emulator.md).
            """
    )

    @Option(help: "Port to listen on.") var port = 3100
    @Option(help: "Where to post webhooks.") var webhookURL = "http://127.0.0.1:3000/api/webhook/facebook"
    @Option(help: "Seconds between sample customer messages (0: no demo traffic).") var demoInterval = 15
    @Option(
        help: """
            Pages to host. The first is the demo Page (100000000000001, token EAAemulator-demo-page-token); Page N+1 is \
            100000000000001+N with token EAAemulator-page-token-N.
            """
    )
    var pages = 1
    @Option(help: "Send API calls per second per Page before the usage header reaches 100 % and calls fail with 613.")
    var callsPerSecond = 300
    @Option(help: "Milliseconds between a send's answer and its echo webhook.") var echoDelayMs = 5
    @Option(help: "Milliseconds between the echo and the delivery webhook.") var deliveryDelayMs = 20
    @Option(help: "Milliseconds every Send API call and sender action takes, as Meta's do over the internet (0: at once).")
    var sendLatencyMs = 0
    @Option(help: "Attempts per webhook POST before it is dropped (Meta retries for hours).") var webhookMaxAttempts = 5
    @Option(help: "First webhook retry delay in milliseconds; doubles each attempt.") var webhookRetryBackoffMs = 100

    func run() async throws {
        guard let secret = ProcessInfo.processInfo.environment["FACEBOOK_APP_SECRET"] else {
            FileHandle.standardError.write(Data("switchboard emulator: set FACEBOOK_APP_SECRET (the same value the server uses)\n".utf8))
            throw ExitCode(78)
        }
        var configuration = EmulatorConfiguration.demo(appSecret: AppSecret(secret), webhookURL: webhookURL)
        if let appId = ProcessInfo.processInfo.environment["FACEBOOK_APP_ID"] { configuration.appId = appId }
        if let first = configuration.pages.first, pages > 1, let base = Int(first.id) {
            configuration.pages += (1..<pages).map {
                EmulatedPage(id: String(base + $0), name: "Emulated Page \($0 + 1)", token: PageAccessToken("EAAemulator-page-token-\($0)"))
            }
        }
        configuration.callsPerSecondPerPage = callsPerSecond
        configuration.echoDelay = .milliseconds(echoDelayMs)
        configuration.deliveryDelay = .milliseconds(deliveryDelayMs)
        configuration.sendLatency = .milliseconds(sendLatencyMs)
        configuration.webhookMaxAttempts = webhookMaxAttempts
        configuration.webhookRetryBackoff = .milliseconds(webhookRetryBackoffMs)
        let logger = makeLogger("graph-emulator")
        let emulator = GraphEmulator(configuration: configuration, logger: logger)
        var services: [any Service] = [GraphEmulatorServer.build(emulator: emulator, port: port, logger: logger)]
        if demoInterval > 0, let page = configuration.pages.first {
            services.append(DemoTrafficService(emulator: emulator, pageId: page.id, options: .init(interval: .seconds(demoInterval))))
        }
        print(
            "Graph emulator on http://127.0.0.1:\(port) (Page \(configuration.pages.first?.id ?? "-"), token \(configuration.pages.first?.token.exposedValue ?? "-"))"
        )
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
