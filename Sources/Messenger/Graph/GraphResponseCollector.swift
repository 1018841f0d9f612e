internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import Synchronization

/// A raw Graph answer: status, headers we care about, body bytes.
struct GraphHTTPResponse: Sendable {
    var status: Int
    var usageHeader: String?
    var body: [UInt8]
    /// When the request's last byte went to the socket.
    var requestWrittenAt: ContinuousClock.Instant?
}

/// Collects a response like AsyncHTTPClient's `ResponseAccumulator`, and also records
/// whether the whole request was written, which is what makes a timeout ambiguous or not.
final class GraphResponseCollector: HTTPClientResponseDelegate {
    typealias Response = GraphHTTPResponse

    private struct State {
        /// When every byte of the request had been handed to the socket.
        var requestWrittenAt: ContinuousClock.Instant?
        var status = 0
        var usageHeader: String?
        var body = ByteBuffer()
    }

    private let state = Mutex(State())
    private let maxBodyBytes: Int

    init(maxBodyBytes: Int = 1 << 20) { self.maxBodyBytes = maxBodyBytes }

    /// When every byte of the request was handed to the socket; nil while it was not.
    var requestWrittenAt: ContinuousClock.Instant? { state.withLock { $0.requestWrittenAt } }

    func didSendRequest(task: HTTPClient.Task<Response>) {
        state.withLock { $0.requestWrittenAt = $0.requestWrittenAt ?? .now }
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.withLock {
            // A response can only come after the request reached Graph.
            $0.requestWrittenAt = $0.requestWrittenAt ?? .now
            $0.status = Int(head.status.code)
            $0.usageHeader = head.headers.first(name: "x-business-use-case-usage")
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        var part = buffer
        state.withLock {
            if $0.body.readableBytes + part.readableBytes <= maxBodyBytes {
                $0.body.writeBuffer(&part)
            }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> Response {
        state.withLock {
            GraphHTTPResponse(
                status: $0.status,
                usageHeader: $0.usageHeader,
                body: Array($0.body.readableBytesView),
                requestWrittenAt: $0.requestWrittenAt
            )
        }
    }
}
