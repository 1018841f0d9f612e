public import Logging
public import NIOCore
internal import NIOPosix
internal import NIOSSL

/// Sends e-mail through one SMTP submission server: one connection per message.
///
/// ```swift
/// let client = try SMTPClient(configuration: SMTPConfiguration(environment: env), logger: logger)
/// try await client.send(MailMessage(to: [MailAddress("ada@example.com")],
///                                   subject: "Sign in to Switchboard", text: text, html: html))
/// ```
///
/// `send` returns once the server accepted the message and the connection is closed; every
/// failure is an ``SMTPError``. Cancelling the calling task closes the connection.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let tlsContext: NIOSSLContext?
    private let logger: Logger

    /// Prepares the client; loads the trust roots now, so a bad CA file fails here.
    /// `eventLoopGroup` defaults to NIO's shared singleton group.
    public init(
        configuration: SMTPConfiguration,
        eventLoopGroup: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "smtp")
    ) throws {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.logger = logger
        guard !configuration.host.isEmpty, (1...65535).contains(configuration.port) else {
            throw SMTPError(code: .invalidConfiguration, message: "host and port must be set")
        }
        if configuration.tlsMode == .none {
            self.tlsContext = nil
        } else {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                switch configuration.trustRoots {
                case .system: tls.trustRoots = .default
                case .pemFile(let path): tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
                case .pem(let text): tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(text.utf8)))
                }
                self.tlsContext = try NIOSSLContext(configuration: tls)
            } catch {
                throw SMTPError(
                    code: .invalidConfiguration,
                    message: "cannot load the TLS trust roots",
                    underlying: "\(error)"
                )
            }
        }
    }

    /// Sends `message` and returns what the server said. Throws ``SMTPError``, or
    /// `CancellationError` when the task was cancelled.
    @discardableResult
    public func send(_ message: MailMessage) async throws -> SMTPSendResult {
        let rendered = try MIMERenderer().render(message, defaultFrom: configuration.from)
        return try await send(rendered)
    }

    /// Sends an already rendered message (its envelope comes from `rendered`).
    @discardableResult
    public func send(_ rendered: MIMERenderer.Rendered) async throws -> SMTPSendResult {
        let configuration = self.configuration
        let eventLoop = eventLoopGroup.next()
        let promise = eventLoop.makePromise(of: SMTPSendResult.self)
        let machine = SMTPStateMachine(
            settings: .init(
                localHostname: configuration.localHostname,
                tls: configuration.tlsMode.policy,
                credentials: configuration.credentials,
                allowPlaintextAuthentication: configuration.allowPlaintextAuthentication,
                authenticationMechanisms: configuration.authenticationMechanisms
            ),
            envelope: .init(sender: rendered.sender, recipients: rendered.recipients, messageID: rendered.messageID)
        )
        let content = SMTPDataEncoder.encode(rendered.bytes)
        let tlsContext = self.tlsContext
        let serverHostname = Self.isIPAddress(configuration.host) ? nil : configuration.host
        let logger = self.logger.with(metadata: ["smtp.host": "\(configuration.host):\(configuration.port)"])
        let timeouts = SMTPChannelHandler.Timeouts(configuration.timeouts)

        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(.init(configuration.timeouts.connect))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = SMTPChannelHandler(
                        machine: machine,
                        content: content,
                        timeouts: timeouts,
                        promise: promise,
                        logger: logger,
                        makeTLSHandler: {
                            guard let tlsContext else { throw SMTPError(code: .invalidConfiguration, message: "no TLS context") }
                            return try NIOSSLClientHandler(context: tlsContext, serverHostname: serverHostname)
                        }
                    )
                    if configuration.tlsMode == .implicitTLS, let tlsContext {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tlsContext, serverHostname: serverHostname)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }

        logger.debug("SMTP sending", metadata: ["smtp.recipients": "\(rendered.recipients.count)"])
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            let mapped = Self.connectError(error, configuration: configuration)
            promise.fail(mapped)
            throw mapped
        }
        do {
            let result = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                channel.close(promise: nil)
            }
            logger.debug("SMTP message accepted", metadata: ["smtp.reply": "\(result.reply)"])
            return result
        } catch {
            try Task.checkCancellation()
            throw error
        }
    }

    private static func connectError(_ error: any Error, configuration: SMTPConfiguration) -> SMTPError {
        if let error = error as? ChannelError, case .connectTimeout = error {
            return SMTPError(
                code: .timeout,
                message: "could not connect to \(configuration.host):\(configuration.port) in time",
                step: .connect,
                underlying: "\(error)"
            )
        }
        return SMTPError(
            code: .connectionFailed,
            message: "could not connect to \(configuration.host):\(configuration.port)",
            step: .connect,
            underlying: "\(error)"
        )
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

extension SMTPConfiguration.TLSMode {
    var policy: SMTPStateMachine.TLSPolicy {
        switch self {
        case .none: .none
        case .startTLS: .startTLS
        case .implicitTLS: .implicit
        }
    }
}

extension Logger {
    fileprivate func with(metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
