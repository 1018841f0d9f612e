import AsyncHTTPClient
import Foundation
import GraphEmulator
import Logging
import Messenger
import NIOCore
import NIOHTTP1
import Testing

/// One emulator, one receiver, one Graph client pointing at the emulator.
struct Harness: Sendable {
    static let pageId = "106123456789012"
    static let token = PageAccessToken("EAAtest-page-token")
    static let secret = AppSecret("test-app-secret")

    let emulator: GraphEmulator
    let receiver: WebhookReceiver
    let graph: GraphClient
    let baseURL: String

    var page: String { Self.pageId }

    static func configuration(_ tweak: (inout EmulatorConfiguration) -> Void = { _ in }) -> EmulatorConfiguration {
        var configuration = EmulatorConfiguration(
            appSecret: secret,
            pages: [
                EmulatedPage(id: pageId, name: "Test Shop", token: token),
                EmulatedPage(id: "204123456789099", name: "Other Page", token: PageAccessToken("EAAother")),
            ],
            echoDelay: .zero,
            deliveryDelay: .zero,
            readDelay: .zero,
            webhookRetryBackoff: .milliseconds(1)
        )
        tweak(&configuration)
        return configuration
    }

    /// Runs `body` with everything up on free ports.
    static func run<T: Sendable>(
        clock: EmulatorClock = EmulatorClock(),
        timeout: Duration = .seconds(10),
        receiverStatuses: [Int] = [],
        configure: (inout EmulatorConfiguration) -> Void = { _ in },
        _ body: @Sendable (Harness) async throws -> T
    ) async throws -> T {
        let logger = quietLogger("graph-emulator")
        let emulator = GraphEmulator(configuration: configuration(configure), clock: clock, logger: logger)
        let receiver = WebhookReceiver(statuses: receiverStatuses)
        return try await receiver.withRunning { webhookURL in
            emulator.setWebhookURL(webhookURL)
            return try await GraphEmulatorServer.withRunning(emulator) { baseURL in
                let graph = GraphClient(
                    httpClient: .shared,
                    configuration: .init(baseURL: baseURL, apiVersion: "v25.0", timeout: timeout),
                    logger: logger
                )
                return try await body(Harness(emulator: emulator, receiver: receiver, graph: graph, baseURL: baseURL))
            }
        }
    }

    /// A raw request to the emulator, for shapes the typed client cannot produce.
    func raw(
        _ method: HTTPMethod,
        _ path: String,
        json: String? = nil,
        bearer: String? = nil
    ) async throws
        -> (status: Int, body: String, headers: [(String, String)])
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(Array(json.utf8))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body), response.headers.map { ($0.name, $0.value) })
    }
}

extension WebhookReceiver {
    /// The next POST, its signature checked and its events decoded.
    static func decode(_ post: Post) throws -> [WebhookEvent] {
        try WebhookSignature.verify(body: post.body, header: post.signature256, appSecret: Harness.secret)
        return try WebhookBatch.decode(post.body)
    }

    /// The next `count` events, however many POSTs carry them (receipts due together
    /// share one), each POST's signature checked.
    static func events(_ count: Int, from posts: inout AsyncStream<Post>.Iterator) async throws -> [WebhookEvent] {
        var events: [WebhookEvent] = []
        while events.count < count { events += try decode(try #require(await posts.next())) }
        return events
    }
}

/// Tests log errors only.
func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}
