import HTTPTypes
import Hummingbird
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
                    body: Array(bytes.readableBytesView), signature256: request.headers[.init("X-Hub-Signature-256")!],
                    signature1: request.headers[.init("X-Hub-Signature")!]))
            let status = self.statuses.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: "EVENT_RECEIVED")))
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.runService(gracefulShutdownSignals: [])
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            defer { group.cancelAll() }
            return try await body("http://127.0.0.1:\(port)/webhook")
        }
    }
}
