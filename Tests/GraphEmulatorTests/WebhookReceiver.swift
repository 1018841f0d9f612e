import HTTPTypes
import Hummingbird
import Logging
import Messenger
import NIOCore
import ServiceLifecycle
import Synchronization

/// A tiny webhook endpoint on a free port that records every POST, for the emulator tests.
/// Answers with the queued statuses first (e.g. [500] to force a retry), then 200.
final class WebhookReceiver: Sendable {
    struct Post: Sendable {
        var body: [UInt8]
        var signature256: String?
        var signature1: String?
    }

    static let verifyToken = "verify-me"

    let posts: AsyncStream<Post>
    private let continuation: AsyncStream<Post>.Continuation
    private let statuses: Mutex<[Int]>

    init(statuses: [Int] = []) {
        (posts, continuation) = AsyncStream<Post>.makeStream()
        self.statuses = Mutex(statuses)
    }

    func queueStatuses(_ values: [Int]) { statuses.withLock { $0.append(contentsOf: values) } }

    /// Runs the receiver during `body`, handing it the webhook URL.
    func withRunning<T: Sendable>(_ body: @Sendable (_ url: String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/webhook") { request, _ -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 22)
            self.continuation.yield(
                Post(
                    body: Array(bytes.readableBytesView),
                    signature256: request.headers[.init("X-Hub-Signature-256")!],
                    signature1: request.headers[.init("X-Hub-Signature")!]
                )
            )
            let status = self.statuses.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: "EVENT_RECEIVED")))
        }
        router.get("/webhook") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard
                let challenge = WebhookVerification.challengeResponse(
                    mode: query.get("hub.mode"),
                    verifyToken: query.get("hub.verify_token"),
                    challenge: query.get("hub.challenge"),
                    expectedToken: Self.verifyToken
                )
            else { return Response(status: .forbidden) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: challenge)))
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let logger = quietLogger("webhook-receiver")
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(services: [app], logger: app.logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { portContinuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            let result: Result<T, any Error>
            do {
                result = .success(try await body("http://127.0.0.1:\(port)/webhook"))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}
