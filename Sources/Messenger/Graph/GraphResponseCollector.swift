internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import Synchronization

/// A raw Graph answer: status, headers we care about, body bytes.
struct GraphHTTPResponse: Sendable {
    var status: Int
    var usageHeader: String?
    var body: [UInt8]
}

/// Collects a response like AsyncHTTPClient's `ResponseAccumulator`, and also records
/// whether the whole request was written, which is what makes a timeout ambiguous or not.
final class GraphResponseCollector: HTTPClientResponseDelegate {
    typealias Response = GraphHTTPResponse

    private struct State {
        var requestSent = false
        var status = 0
        var usageHeader: String?
        var body = ByteBuffer()
    }

    private let state = Mutex(State())
    private let maxBodyBytes: Int

    init(maxBodyBytes: Int = 1 << 20) { self.maxBodyBytes = maxBodyBytes }

    /// True once every byte of the request was handed to the socket.
    var requestSent: Bool { state.withLock { $0.requestSent } }

    func didSendRequest(task: HTTPClient.Task<Response>) {
        state.withLock { $0.requestSent = true }
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.withLock {
            // A response can only come after the request reached Graph.
            $0.requestSent = true
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
            GraphHTTPResponse(status: $0.status, usageHeader: $0.usageHeader, body: Array($0.body.readableBytesView))
        }
    }
}
