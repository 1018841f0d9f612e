public import Logging
public import NIOCore
import NIOPosix
import NIOSSL

/// The RESP version a connection ended up speaking.
public enum RESPVersion: Int, Sendable, Hashable {
    case resp2 = 2
    case resp3 = 3
}

/// One connection to Redis, after the handshake (`HELLO`/`AUTH`, `SELECT`, client name).
///
/// Commands on one connection are pipelined: several tasks may send at once and replies are
/// matched in order. A blocking command (`XREADGROUP … BLOCK`) holds up everything behind
/// it, so ``RedisClient`` leases a whole connection per command from its pool instead.
public final class RedisConnection: Sendable {
    let channel: any Channel
    /// Takes the requests, on the channel's event loop.
    let handler: NIOLoopBound<RedisChannelHandler>
    /// RESP3 after a successful `HELLO 3`, else RESP2.
    public let protocolVersion: RESPVersion
    let commandTimeout: Duration?
    let logger: Logger

    private init(
        channel: any Channel,
        handler: NIOLoopBound<RedisChannelHandler>,
        protocolVersion: RESPVersion,
        commandTimeout: Duration?,
        logger: Logger
    ) {
        self.channel = channel
        self.handler = handler
        self.protocolVersion = protocolVersion
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    /// False once the connection dropped or was closed.
    public var isActive: Bool { channel.isActive }

    /// Completes when the channel closes, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Opens a connection and runs the handshake. Throws ``RedisError`` with code
    /// `connectFailed`, `tls`, `authenticationFailed`, or `server`.
    ///
    /// - Parameter onPush: receives out-of-band messages (pub/sub); passing it puts a RESP2
    ///   connection in subscriber mode, so use it only for a dedicated subscriber connection.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        logger: Logger = Logger(label: "RESP"),
        onPush: (@Sendable (RESPValue) -> Void)? = nil
    ) async throws -> RedisConnection {
        let (channel, handler) = try await makeChannel(configuration: configuration, eventLoop: eventLoop, onPush: onPush)
        do {
            let version = try await handshake(channel: channel, handler: handler, configuration: configuration)
            var logger = logger
            logger[metadataKey: "redis.url"] = "\(configuration.maskedDescription)"
            return RedisConnection(
                channel: channel,
                handler: handler,
                protocolVersion: version,
                commandTimeout: configuration.commandTimeout,
                logger: logger
            )
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private static func makeChannel(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        onPush: (@Sendable (RESPValue) -> Void)?
    ) async throws -> (any Channel, NIOLoopBound<RedisChannelHandler>) {
        var sslContext: NIOSSLContext?
        var serverHostname: String?
        if let tls = configuration.tls {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            tlsConfiguration.certificateVerification = .fullVerification
            if let caFile = tls.caFile {
                tlsConfiguration.trustRoots = .file(caFile)
            }
            do {
                sslContext = try NIOSSLContext(configuration: tlsConfiguration)
            } catch {
                throw RedisError(.tls, message: "cannot set up TLS: \(error)", underlying: error)
            }
            let name = tls.serverName ?? configuration.host
            serverHostname = isIPAddress(name) ? nil : name
        }
        let limits = configuration.parserLimits
        let pubSubMode = onPush != nil
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        do {
            // The handler comes back from the initializer rather than being looked up
            // afterwards: a TLS handshake the server refuses can close the channel, and
            // empty its pipeline, before a lookup, while the handler still holds the reason
            // for the handshake to report.
            return try await bootstrap.connect(host: configuration.host, port: configuration.port) { [sslContext, serverHostname] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                    }
                    let handler = RedisChannelHandler(limits: limits, pubSubMode: pubSubMode, onPush: onPush)
                    try sync.addHandler(handler)
                    return (channel, NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
        } catch {
            throw RedisError(
                .connectFailed,
                message: "cannot connect to \(configuration.maskedDescription): \(error)",
                underlying: error
            )
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0.isNumber || $0 == "." })
    }

    /// `HELLO 3 [AUTH u p] [SETNAME n]`, or RESP2 `AUTH`/`CLIENT SETNAME`; then `SELECT`.
    private static func handshake(
        channel: any Channel,
        handler: NIOLoopBound<RedisChannelHandler>,
        configuration: RedisConfiguration
    ) async throws -> RESPVersion {
        let timeout = configuration.commandTimeout ?? configuration.connectTimeout
        func call(_ arguments: [RedisArgument]) async throws -> RESPValue {
            let bytes = encode(count: 1, allocator: channel.allocator) { $0.encode(arguments) }
            return try await send(bytes, replies: 1, to: handler, on: channel, timeout: timeout)[0]
        }
        func authError(_ text: String) -> RedisError {
            let e = RedisError.server(text)
            return RedisError(.authenticationFailed, message: e.message, serverPrefix: e.serverPrefix)
        }
        func isAuthError(_ text: String) -> Bool {
            text.hasPrefix("WRONGPASS") || text.hasPrefix("NOAUTH") || text.contains("invalid password")
                || text.contains("invalid username-password")
        }

        var version: RESPVersion = .resp2
        if configuration.protocolVersion != .resp2 {
            var hello: [RedisArgument] = ["HELLO", "3"]
            if let password = configuration.password {
                hello += ["AUTH", RedisArgument(configuration.username ?? "default"), RedisArgument(password)]
            }
            if let name = configuration.clientName { hello += ["SETNAME", RedisArgument(name)] }
            switch try await call(hello) {
            case .simpleError(let b), .bulkError(let b):
                let text = String(buffer: b)
                if isAuthError(text) { throw authError(text) }
                let unknown = text.hasPrefix("NOPROTO") || text.lowercased().contains("unknown command")
                guard configuration.protocolVersion == .automatic, unknown else { throw RedisError.server(text) }
            default:
                version = .resp3
            }
        }
        if version == .resp2 {
            if let password = configuration.password {
                var auth: [RedisArgument] = ["AUTH"]
                if let user = configuration.username { auth.append(RedisArgument(user)) }
                auth.append(RedisArgument(password))
                if case .simpleError(let b) = try await call(auth) {
                    throw authError(String(buffer: b))
                }
            }
            if let name = configuration.clientName {
                if case .simpleError(let b) = try await call(["CLIENT", "SETNAME", RedisArgument(name)]) {
                    throw RedisError.server(String(buffer: b))
                }
            }
        }
        if configuration.database != 0 {
            if case .simpleError(let b) = try await call(["SELECT", RedisArgument(configuration.database)]) {
                throw RedisError.server(String(buffer: b))
            }
        }
        return version
    }

    /// `count` commands, encoded by `body` into one buffer for one write.
    static func encode(count: Int, allocator: ByteBufferAllocator, _ body: (inout RESPCommandEncoder) -> Void) -> ByteBuffer {
        var encoder = RESPCommandEncoder(buffer: allocator.buffer(capacity: 64 * count))
        body(&encoder)
        return encoder.buffer
    }

    /// Writes encoded commands in one flush and returns their `replies` raw replies in
    /// order. Throws ``RedisError``.
    static func send(
        _ bytes: ByteBuffer,
        replies count: Int,
        to handler: NIOLoopBound<RedisChannelHandler>,
        on channel: any Channel,
        timeout: Duration?
    ) async throws -> [RESPValue] {
        try await withUnsafeThrowingContinuation { (replies: RedisReplies) in
            submit(RedisRequest(bytes: bytes, expectedReplies: count, replies: replies, timeout: timeout), to: handler, on: channel)
        }
    }

    /// Hands a request to the handler on its event loop; a caller already on that loop (a
    /// task on NIO's executor, see docs/resp.md) hands it over without a thread hop.
    private static func submit(_ request: RedisRequest, to handler: NIOLoopBound<RedisChannelHandler>, on channel: any Channel) {
        let loop = channel.eventLoop
        if loop.inEventLoop {
            handler.value.send(request)
        } else {
            loop.execute { handler.value.send(request) }
        }
    }

    /// Sends one command and decodes its reply.
    ///
    /// This and ``pipeline(_:)-([RedisCommand<Response>])`` are inlinable, as are the
    /// client's, so they are compiled for the caller's `Response`: unspecialised, each
    /// reply cost generic metadata look-ups (a tenth of the time in pipelined SET/GET).
    @inlinable
    public func send<Response>(_ command: RedisCommand<Response>) async throws -> Response {
        let values = try await send(replies: 1, blocking: command.blockingTimeout) { $0.encode(command.arguments) }
        return try command.decode(values[0])
    }

    /// Sends several commands in one write and returns their typed replies. Throws the first
    /// error reply (all commands still ran).
    public func pipeline<each Response>(
        _ commands: repeat RedisCommand<each Response>
    ) async throws -> (repeat each Response) {
        var arguments: [[RedisArgument]] = []
        var blocking: Duration?
        for command in repeat each commands {
            arguments.append(command.arguments)
            if let b = command.blockingTimeout { blocking = max(blocking ?? .zero, b) }
        }
        let values = try await sendRaw(arguments, blocking: blocking)
        var index = 0
        func next<R>(_ command: RedisCommand<R>) throws -> R {
            defer { index += 1 }
            return try command.decode(values[index])
        }
        return (repeat try next(each commands))
    }

    /// Sends many commands of one type in one write; one result per command, in order.
    @inlinable
    public func pipeline<Response>(_ commands: [RedisCommand<Response>]) async throws -> [Result<Response, RedisError>] {
        guard !commands.isEmpty else { return [] }
        var blocking: Duration?
        for command in commands {
            if let b = command.blockingTimeout { blocking = max(blocking ?? .zero, b) }
        }
        let values = try await send(replies: commands.count, blocking: blocking) { encoder in
            for command in commands { encoder.encode(command.arguments) }
        }
        var results: [Result<Response, RedisError>] = []
        results.reserveCapacity(values.count)
        for index in values.indices {
            do throws(RedisError) {
                results.append(.success(try commands[index].decode(values[index])))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
    }

    /// Writes `count` commands, encoded by `encode`, in one flush; their raw replies in order.
    @usableFromInline
    func send(replies count: Int, blocking: Duration?, encode: (inout RESPCommandEncoder) -> Void) async throws -> [RESPValue] {
        try await send(Self.encode(count: count, allocator: channel.allocator, encode), replies: count, blocking: blocking)
    }

    func sendRaw(_ arguments: [[RedisArgument]], blocking: Duration?) async throws -> [RESPValue] {
        try await send(replies: arguments.count, blocking: blocking) { encoder in
            for command in arguments { encoder.encode(command) }
        }
    }

    private func send(_ bytes: ByteBuffer, replies count: Int, blocking: Duration?) async throws -> [RESPValue] {
        var timeout = commandTimeout
        if let blocking {
            // BLOCK 0 waits forever; otherwise allow the block time on top of the usual timeout.
            timeout = blocking == .zero ? nil : timeout.map { $0 + blocking }
            let channel = self.channel
            return try await withTaskCancellationHandler {
                try await Self.send(bytes, replies: count, to: handler, on: channel, timeout: timeout)
            } onCancel: {
                // A blocked connection cannot be interrupted otherwise; the pool drops it.
                channel.close(promise: nil)
            }
        }
        return try await Self.send(bytes, replies: count, to: handler, on: channel, timeout: timeout)
    }

    /// Writes a command whose answers arrive as pushes (`SUBSCRIBE`, `UNSUBSCRIBE`…).
    func sendWithoutReply(_ arguments: [RedisArgument]) {
        let bytes = Self.encode(count: 1, allocator: channel.allocator) { $0.encode(arguments) }
        Self.submit(RedisRequest(bytes: bytes, expectedReplies: 0, replies: nil, timeout: nil), to: handler, on: channel)
    }

    /// Closes the connection; requests in flight fail with ``RedisError/Code/connectionClosed``.
    public func close() async {
        try? await channel.close()
    }
}
