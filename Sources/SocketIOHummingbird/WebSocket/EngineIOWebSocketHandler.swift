import EngineIO
import NIOCore
import NIOWebSocket

/// Serves one upgraded WebSocket on its event loop, with no task: inbound messages go to
/// the session synchronously; outbound frames arrive through the sink (one hop per burst),
/// are packed into one write and flushed once; a socket that stops being writable stops
/// pulling, so its backlog stays in the session, under the slow-client bounds.
final class EngineIOWebSocketHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    private let engine: EngineIOServer
    private let request: EngineIORequest
    private let deliveries: EngineIODeliveryQueue
    private var connection: EngineIOWebSocketConnection?
    private var context: ChannelHandlerContext?
    /// A close frame went out (or the socket closed): nothing more is written.
    private var closing = false
    /// The channel's writability, kept from its events (cheaper than asking per pull).
    private var writable = true
    private var allocator = ByteBufferAllocator()

    init(engine: EngineIOServer, request: EngineIORequest, deliveries: EngineIODeliveryQueue) {
        self.engine = engine
        self.request = request
        self.deliveries = deliveries
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        allocator = context.channel.allocator
        let sink = EngineIOChannelSink(handler: NIOLoopBound(self, eventLoop: context.eventLoop), deliveries: deliveries)
        guard let (connection, greeting) = engine.openWebSocket(request: request, sink: sink) else {
            // The session went away (or has another WebSocket) since the upgrade was accepted.
            close(context: context, code: .policyViolation)
            return
        }
        self.connection = connection
        // A new session starts with its OPEN packet; a probe waits for `2probe`.
        if connection.isPulling { pull(context: context, after: greeting) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        socketClosed()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        socketClosed()
        context.fireChannelInactive()
    }

    /// Ends the session (or abandons the probe) and breaks the handler–sink cycle.
    private func socketClosed() {
        closing = true
        connection?.socketClosed()
        connection = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let reaction: EngineIOWebSocketConnection.Reaction
        switch frame.opcode {
        case .text:
            reaction = connection?.received(textFrame: frame.unmaskedData) ?? .close
        case .binary:
            reaction = connection?.received(binaryFrame: frame.unmaskedData) ?? .close
        case .ping:
            guard !closing else { return }
            var batch = WebSocketFrameBatch(allocator: allocator, capacity: 2 + frame.length)
            batch.append(opcode: .pong, frame.unmaskedData)
            for buffer in batch.finish() { context.write(wrapOutboundOut(buffer), promise: nil) }
            context.flush()
            return
        case .pong:
            return
        case .connectionClose:
            // Answer with the client's status code, as RFC 6455 asks.
            close(context: context, code: frame.unmaskedData.peekWebSocketErrorCode() ?? .normalClosure)
            return
        default:
            close(context: context, code: .protocolError)
            return
        }
        switch reaction {
        case .none:
            break
        case .write(let frames):
            write(frames, context: context)
            context.flush()
        case .startPulling:
            pull(context: context)
        case .close:
            close(context: context, code: .normalClosure)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable, connection?.isPulling == true { pull(context: context) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as ChannelEvent where event == .inputClosed:
            // The client half-closed: it will send nothing more, so the socket is done.
            close(context: context, code: .normalClosure)
        case is ChannelShouldQuiesceEvent:
            // The HTTP server is stopping: the session ends, and the socket with it.
            if let connection, connection.isPulling {
                connection.session.close(.serverShuttingDown)
            } else {
                close(context: context, code: .goingAway)
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength, NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            close(context: context, code: .messageTooLarge)
        case is NIOWebSocketError, is NIOWebSocketFrameAggregator.Error:
            close(context: context, code: .protocolError)
        default:
            socketClosed()
            context.close(promise: nil)
        }
    }

    // MARK: Outbound

    /// Frames from the sink (on this event loop): written with whatever else is queued.
    func deliver(_ frames: [EngineIOFrame], finish: Bool) {
        guard let context, !closing else { return }
        if finish {
            write(frames, context: context)
            close(context: context, code: .normalClosure)
        } else {
            pull(context: context, after: frames)
        }
    }

    /// Takes everything the session has queued (if the socket takes more), writes it as one
    /// batch after `delivered`, and flushes once.
    private func pull(context: ChannelHandlerContext, after delivered: [EngineIOFrame] = []) {
        var frames = delivered
        var finish = false
        if writable, let connection {
            pulling: while true {
                switch connection.pull() {
                case .frames(let more):
                    frames += more
                case .wait:
                    break pulling
                case .finish(let more):
                    frames += more
                    finish = true
                    break pulling
                }
            }
        }
        write(frames, context: context)
        if finish {
            close(context: context, code: .normalClosure)
        } else {
            context.flush()
        }
    }

    private func write(_ frames: [EngineIOFrame], context: ChannelHandlerContext) {
        guard !frames.isEmpty, !closing else { return }
        var batch = WebSocketFrameBatch(allocator: allocator, capacity: WebSocketFrameBatch.estimatedSize(of: frames))
        for frame in frames { batch.append(frame) }
        for buffer in batch.finish() { context.write(wrapOutboundOut(buffer), promise: nil) }
    }

    /// Sends a close frame after what was written, then closes the socket once that is
    /// written, or after a grace period for a client that does not read.
    private func close(context: ChannelHandlerContext, code: WebSocketErrorCode) {
        guard !closing else { return }
        closing = true
        var batch = WebSocketFrameBatch(allocator: allocator, capacity: 4)
        batch.appendClose(code)
        let written = context.eventLoop.makePromise(of: Void.self)
        for buffer in batch.finish() { context.write(wrapOutboundOut(buffer), promise: written) }
        context.flush()
        let channel = context.channel
        let grace = channel.eventLoop.scheduleTask(in: Self.closeGrace) { channel.close(promise: nil) }
        written.futureResult.whenComplete { _ in
            grace.cancel()
            channel.close(promise: nil)
        }
    }

    /// How long a closing socket may take to accept its last frames.
    static let closeGrace = TimeAmount.seconds(2)
}

/// Hands a session's frames to its socket's event loop, through the loop's queue.
final class EngineIOChannelSink: EngineIOWebSocketSink {
    private let handler: NIOLoopBound<EngineIOWebSocketHandler>
    private let deliveries: EngineIODeliveryQueue

    init(handler: NIOLoopBound<EngineIOWebSocketHandler>, deliveries: EngineIODeliveryQueue) {
        self.handler = handler
        self.deliveries = deliveries
    }

    func engineIODeliver(_ frames: [EngineIOFrame], finish: Bool) {
        deliveries.enqueue(.init(handler: handler, frames: frames, finish: finish))
    }
}
