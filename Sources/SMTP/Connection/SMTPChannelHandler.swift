internal import Logging
internal import NIOCore
internal import NIOTLS

/// Runs one ``SMTPStateMachine`` on a channel: parses replies, feeds the machine, and does
/// exactly what its actions say (write, start TLS, arm a timer, close, complete).
///
/// The result promise is completed when the channel has closed, so a caller awaiting it
/// knows the connection is gone.
final class SMTPChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Timeouts in NIO's unit.
    struct Timeouts {
        var greeting: TimeAmount
        var tlsHandshake: TimeAmount
        var command: TimeAmount
        var dataTermination: TimeAmount

        init(_ timeouts: SMTPConfiguration.Timeouts) {
            greeting = .init(timeouts.greeting)
            tlsHandshake = .init(timeouts.tlsHandshake)
            command = .init(timeouts.command)
            dataTermination = .init(timeouts.dataTermination)
        }
    }

    private var machine: SMTPStateMachine
    private var parser = SMTPReplyParser()
    private let content: ByteBuffer
    private let timeouts: Timeouts
    private let makeTLSHandler: () throws -> any ChannelHandler
    private let promise: EventLoopPromise<SMTPSendResult>
    private let logger: Logger
    private var timer: Scheduled<Void>?

    /// - Parameters:
    ///   - content: the message, already dot-stuffed and terminated by `SMTPDataEncoder`.
    ///   - makeTLSHandler: builds the TLS client handler put in front on STARTTLS.
    init(
        machine: SMTPStateMachine,
        content: ByteBuffer,
        timeouts: Timeouts,
        promise: EventLoopPromise<SMTPSendResult>,
        logger: Logger,
        makeTLSHandler: @escaping () throws -> any ChannelHandler
    ) {
        self.machine = machine
        self.content = content
        self.timeouts = timeouts
        self.promise = promise
        self.logger = logger
        self.makeTLSHandler = makeTLSHandler
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(timeouts.greeting, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(timeouts.greeting, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parser.append(unwrapInboundIn(data))
        do {
            while let reply = try parser.next() {
                logger.trace("S: \(reply)")
                cancelTimer()
                let action = machine.replyReceived(reply)
                run(action, context: context)
                // After STARTTLS's 220 the rest must come through TLS (checked in `run`).
                if case .startTLS = action { break }
            }
        } catch {
            cancelTimer()
            run(machine.errorCaught(error), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            cancelTimer()
            run(machine.tlsHandshakeCompleted(), context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        cancelTimer()
        run(machine.errorCaught(Self.classify(error, step: machine.step)), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        run(machine.channelInactive(), context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        // Never leave the caller waiting; a no-op if the outcome was delivered.
        promise.fail(SMTPError(code: .connectionClosed, message: "the connection was torn down", step: machine.step))
    }

    // MARK: Actions

    private func run(_ action: SMTPStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .send(let command):
            logger.trace("C: \(command.logDescription)")
            var buffer = context.channel.allocator.buffer(capacity: 64)
            command.write(into: &buffer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            arm(timeouts.command, context: context)

        case .startTLS:
            guard !parser.hasBufferedBytes else {
                // Bytes after the 220 came in clear text: never let them pass for TLS data.
                let error = SMTPError(code: .protocolViolation, message: "data pipelined after the STARTTLS reply")
                run(machine.errorCaught(error), context: context)
                return
            }
            do {
                let tls = try makeTLSHandler()
                try context.pipeline.syncOperations.addHandler(tls, position: .first)
                arm(timeouts.tlsHandshake, context: context)
            } catch {
                run(machine.errorCaught(Self.classify(error, step: .tlsHandshake)), context: context)
            }

        case .sendMessage:
            logger.trace("C: <message, \(content.readableBytes) bytes>")
            context.writeAndFlush(wrapOutboundOut(content), promise: nil)
            arm(timeouts.dataTermination, context: context)

        case .close:
            context.close(promise: nil)

        case .complete(let outcome):
            switch outcome {
            case .success(let result): promise.succeed(result)
            case .failure(let error): promise.fail(error)
            }

        case .none:
            break
        }
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        cancelTimer()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.logger.debug("SMTP step timed out", metadata: ["step": "\(handler.machine.step)"])
            handler.run(handler.machine.timeoutFired(), context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    /// Maps a transport or TLS error to an ``SMTPError``.
    static func classify(_ error: any Error, step: SMTPStep) -> SMTPError {
        if let error = error as? SMTPError { return error }
        let module = String(reflecting: type(of: error))
        if module.hasPrefix("NIOSSL.") || step == .tlsHandshake {
            return SMTPError(
                code: .tlsHandshakeFailed,
                message: "TLS could not be established",
                step: step,
                underlying: "\(error)"
            )
        }
        return SMTPError(code: .connectionClosed, message: "the connection failed", step: step, underlying: "\(error)")
    }
}
