import NIOCore
import NIOSSL

/// What the client writes into the channel: encoded commands and how many replies they owe.
struct RedisRequest {
    var bytes: ByteBuffer
    /// Replies expected; 0 for commands answered only by pushes (`SUBSCRIBE` and friends).
    var expectedReplies: Int
    var promise: EventLoopPromise<[RESPValue]>
    var timeout: Duration?
}

/// Executes what ``RedisRequestQueue`` decides: writes requests, completes promises with
/// replies, hands pushes to `onPush`, arms timeouts, and fails everything when the channel
/// goes away. Decoding happens before it (``RESPDecoder``), logic in the queue.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var queue = RedisRequestQueue<EventLoopPromise<[RESPValue]>>()
    private var timers: [UInt64: Scheduled<Void>] = [:]
    private let pubSubMode: Bool
    private let onPush: (@Sendable (RESPValue) -> Void)?
    private var context: ChannelHandlerContext?

    init(pubSubMode: Bool, onPush: (@Sendable (RESPValue) -> Void)?) {
        self.pubSubMode = pubSubMode
        self.onPush = onPush
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(RedisError(.connectionClosed, message: "connection handler removed"))
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard request.expectedReplies > 0 else {
            if let closed = queue.closedWith {
                request.promise.fail(closed)
                return
            }
            context.write(wrapOutboundOut(request.bytes), promise: promise)
            request.promise.succeed([])
            return
        }
        switch queue.enqueue(request.promise, expecting: request.expectedReplies) {
        case .fail(let p, let error):
            p.fail(error)
            promise?.fail(error)
        case .write(let id):
            context.write(wrapOutboundOut(request.bytes), promise: promise)
            if let timeout = request.timeout {
                let loop = context.eventLoop.assumeIsolated()
                timers[id] = loop.scheduleTask(in: TimeAmount(timeout)) { [self] in
                    timers[id] = nil
                    if case .closeConnection(let error, let failing) = queue.timedOut(id: id, after: timeout) {
                        // Close first, so whoever the failure wakes sees an inactive channel.
                        self.context?.close(promise: nil)
                        failAll(failing, error)
                    }
                }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if RedisPushClassifier.isPush(value, pubSubMode: pubSubMode) {
            onPush?(value)
            return
        }
        switch queue.receive(value) {
        case .none:
            break
        case .succeed(let id, let promise, let values):
            timers.removeValue(forKey: id)?.cancel()
            promise.succeed(values)
        case .closeConnection(let error, let failing):
            context.close(promise: nil)
            failAll(failing, error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failing = queue.close(Self.map(error))
        context.close(promise: nil)
        failAll(failing, queue.closedWith ?? Self.map(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(RedisError(.connectionClosed, message: "connection closed by server or network"))
        context.fireChannelInactive()
    }

    private func fail(_ error: RedisError) {
        failAll(queue.close(error), queue.closedWith ?? error)
    }

    private func failAll(_ promises: [EventLoopPromise<[RESPValue]>], _ error: RedisError) {
        for (_, timer) in timers { timer.cancel() }
        timers.removeAll()
        for p in promises { p.fail(error) }
    }

    static func map(_ error: any Error) -> RedisError {
        switch error {
        case let e as RedisError:
            return e
        case let e as RESPParserError:
            return RedisError(.protocolViolation, message: e.description, underlying: e)
        case let e as NIOSSLError:
            return RedisError(.tls, message: "TLS failed: \(e)", underlying: e)
        case let e as NIOSSLExtraError:
            return RedisError(.tls, message: "TLS failed: \(e)", underlying: e)
        case let e as BoringSSLError:
            return RedisError(.tls, message: "TLS failed: \(e)", underlying: e)
        default:
            return RedisError(.connectionClosed, message: "connection failed: \(error)", underlying: error)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (s, atto) = duration.components
        self = .nanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
    }
}
