import NIOCore
import NIOSSL

/// Whom a request's replies go to: the task awaiting them.
typealias RedisReplies = UnsafeContinuation<[RESPValue], any Error>

/// What the client hands the connection: encoded commands and how many replies they owe.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    /// Replies expected; 0 for commands answered only by pushes (`SUBSCRIBE` and friends).
    var expectedReplies: Int
    /// Resumed exactly once, with the replies or an error; nil when none are expected.
    var replies: RedisReplies?
    var timeout: Duration?
}

/// Executes what ``RedisRequestQueue`` decides: writes requests, resumes their callers with
/// the replies, hands pushes to `onPush`, arms timeouts, and fails everything when the
/// channel goes away. It parses what it reads itself (``RESPReader``), logic is in the queue.
///
/// Requests come in through ``send(_:)`` on the event loop, not through the channel
/// pipeline: so a request sent after the channel closed (and its handlers were removed)
/// still reaches this handler and fails, instead of being dropped at the pipeline's head
/// with its caller waiting for ever; and a request costs no promise, no boxing and no walk
/// along the pipeline.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var reader: RESPReader
    private var queue = RedisRequestQueue<RedisReplies>()
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

    /// Writes and flushes a request, or fails it at once when the connection is closed.
    /// Call on the channel's event loop.
    func send(_ request: RedisRequest) {
        guard let context, queue.closedWith == nil else {
            request.replies?.resume(throwing: queue.closedWith ?? RedisError(.connectionClosed, message: "connection closed"))
            return
        }
        guard request.expectedReplies > 0 else {
            context.writeAndFlush(wrapOutboundOut(request.bytes), promise: nil)
            request.replies?.resume(returning: [])
            return
        }
        guard let replies = request.replies else { preconditionFailure("a request expecting replies needs someone to resume") }
        let now = request.timeout == nil ? 0 : NIODeadline.now().uptimeNanoseconds
        switch queue.enqueue(replies, expecting: request.expectedReplies, timeout: request.timeout, now: now) {
        case .fail(let replies, let error):
            replies.resume(throwing: error)
        case .write(let armTimerAt):
            context.writeAndFlush(wrapOutboundOut(request.bytes), promise: nil)
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
        case .succeed(let replies, let values):
            replies.resume(returning: values)
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

    private func failAll(_ waiting: [RedisReplies], _ error: RedisError) {
        timer?.cancel()
        timer = nil
        for replies in waiting { replies.resume(throwing: error) }
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
