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

    func run() async throws {
        guard let secret = ProcessInfo.processInfo.environment["FACEBOOK_APP_SECRET"] else {
            FileHandle.standardError.write(Data("switchboard emulator: set FACEBOOK_APP_SECRET (the same value the server uses)\n".utf8))
            throw ExitCode(78)
        }
        var configuration = EmulatorConfiguration.demo(appSecret: AppSecret(secret), webhookURL: webhookURL)
        if let appId = ProcessInfo.processInfo.environment["FACEBOOK_APP_ID"] { configuration.appId = appId }
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
