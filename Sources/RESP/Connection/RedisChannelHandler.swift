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
/// goes away. It parses what it reads itself (``RESPReader``), logic is in the queue.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var reader: RESPReader
    private var queue = RedisRequestQueue<EventLoopPromise<[RESPValue]>>()
    private var timer: Scheduled<Void>?
    private let pubSubMode: Bool
    private let onPush: (@Sendable (RESPValue) -> Void)?
    private var context: ChannelHandlerContext?

    init(limits: RESPParserLimits, pubSubMode: Bool, onPush: (@Sendable (RESPValue) -> Void)?) {
        self.reader = RESPReader(limits: limits)
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
        let now = request.timeout == nil ? 0 : NIODeadline.now().uptimeNanoseconds
        switch queue.enqueue(request.promise, expecting: request.expectedReplies, timeout: request.timeout, now: now) {
        case .fail(let p, let error):
            p.fail(error)
            promise?.fail(error)
        case .write(let armTimerAt):
            context.write(wrapOutboundOut(request.bytes), promise: promise)
            if let armTimerAt { armTimer(at: armTimerAt, context: context) }
        }
    }

    /// The connection's one timer (see ``RedisRequestQueue``), replacing the one armed.
    private func armTimer(at deadline: UInt64, context: ChannelHandlerContext) {
        timer?.cancel()
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(deadline: .uptimeNanoseconds(deadline)) { [self] in
            timer = nil
            switch queue.timerFired(now: NIODeadline.now().uptimeNanoseconds) {
            case .none:
                break
            case .rearm(let at):
                if let context = self.context { armTimer(at: at, context: context) }
            case .closeConnection(let error, let failing):
                // Close first, so whoever the failure wakes sees an inactive channel.
                self.context?.close(promise: nil)
                failAll(failing, error)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Once failed, what still arrives cannot be matched to anything.
        guard queue.closedWith == nil else { return }
        reader.append(unwrapInboundIn(data))
        do {
            while queue.closedWith == nil, let value = try reader.next() {
                receive(value, context: context)
            }
        } catch {
            errorCaught(context: context, error: error)
        }
    }

    private func receive(_ value: RESPValue, context: ChannelHandlerContext) {
        if RedisPushClassifier.isPush(value, pubSubMode: pubSubMode) {
            onPush?(value)
            return
        }
        switch queue.receive(value) {
        case .none:
            break
        case .succeed(let promise, let values):
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
        timer?.cancel()
        timer = nil
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
