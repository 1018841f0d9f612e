import EngineIO
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Hummingbird's HTTP/1.1 child channel, plus WebSocket upgrades to an Engine.IO server at
/// its path. An upgraded socket is served by ``EngineIOWebSocketHandler`` on its event
/// loop, so it holds no task and no async sequence; a refused upgrade gets the protocol's
/// error; everything else is ordinary HTTP for the application's router.
struct EngineIOHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    enum Upgrade: Sendable {
        case webSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade was asked for and refused: answer with this error and close (NIO does
        /// not hand the request itself on).
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, EngineIOError)
    }

    struct Value: ServerChildChannelValue {
        let upgrade: EventLoopFuture<Upgrade>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let endpoint: EngineIOEndpoint
    let configuration: HTTP1Channel.Configuration
    /// Shared by every connection of the server.
    let deliveries = EngineIODeliveryQueues()

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // A connection keeps its receive buffer for life: a held WebSocket should not keep
            // NIO's default 2 KiB. It still grows whenever a read fills it.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            let upgrader = EngineIOWebSocketUpgrader(endpoint: endpoint, deliveries: deliveries, eventLoop: channel.eventLoop)
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration<Upgrade>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try pipeline.addHandlers(configuration.additionalChannelHandlers())
                        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return upgrader.refusal.value.map { .refused(http, $0) } ?? .http(http)
                    }
                }
            )
            var pipeline = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrades)
            pipeline.enablePipelining = false  // NIOAsyncChannel serialises requests
            pipeline.enableErrorHandling = false  // Hummingbird answers HTTP errors
            pipeline.enableResponseHeaderValidation = false  // HTTPTypes validated them
            pipeline.decoderConfiguration.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            pipeline.decoderConfiguration.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            pipeline.decoderConfiguration.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            let upgrade = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: pipeline)
            return Value(upgrade: upgrade, channel: channel)
        }
    }

    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 64 * 1024)

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgrade.get() {
            case .webSocket:
                return  // the socket's handler serves it from here on
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http, let error):
                try await Self.answer(error, on: http)
            }
        } catch {
            logger.debug("HTTP/1.1 connection failed", metadata: ["error": "\(error)"])
        }
    }

    /// The protocol's JSON error (400, or 403), then the connection closes.
    static func answer(_ error: EngineIOError, on http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async throws {
        let response = EngineIOHTTPResponse.error(error)
        try await http.executeThenClose { _, outbound in
            let head = HTTPResponse(
                status: .init(code: response.status),
                headerFields: [.contentType: response.contentType, .contentLength: "\(response.body.readableBytes)", .connection: "close"]
            )
            try await outbound.write(contentsOf: [.head(head), .body(response.body), .end(nil)])
        }
    }
}

/// An Engine.IO server and the path its transports are mounted at.
struct EngineIOEndpoint: Sendable {
    let path: String
    let engine: EngineIOServer

    init(path: String, engine: EngineIOServer) {
        self.path = Self.normalized(path)
        self.engine = engine
    }

    /// Whether a request target (path and query) is for this endpoint.
    func matches(target: String) -> Bool {
        Self.normalized(target.prefix { $0 != "?" }) == path
    }

    /// `/socket.io/` and `/socket.io` are the same route.
    static func normalized(_ path: some StringProtocol) -> String {
        var path = String(path)
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }
}

/// Accepts a WebSocket upgrade on the Engine.IO path when the engine accepts the query now
/// (a handshake, or a known session), and records why it refused otherwise. The pipeline
/// after the upgrade is ours: frame decoder, fragment aggregator and
/// ``EngineIOWebSocketHandler``, which encodes its own frames.
struct EngineIOWebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = EngineIOHTTPChannel.Upgrade

    let endpoint: EngineIOEndpoint
    let deliveries: EngineIODeliveryQueues
    /// Why this connection's upgrade was refused, once it was.
    let refusal: NIOLoopBoundBox<EngineIOError?>
    /// RFC 6455's handshake checks (version 13, one key) and `Sec-WebSocket-Accept`; its
    /// own pipeline setup is never used.
    private let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>

    init(endpoint: EngineIOEndpoint, deliveries: EngineIODeliveryQueues, eventLoop: any EventLoop) {
        self.endpoint = endpoint
        self.deliveries = deliveries
        self.refusal = NIOLoopBoundBox(nil, eventLoop: eventLoop)
        self.handshake = NIOTypedWebSocketServerUpgrader(
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeFailedFuture(EngineIOError(.badRequest)) }
        )
    }

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(
        channel: any Channel,
        upgradeRequest: HTTPRequestHead,
        initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        let refused =
            endpoint.matches(target: upgradeRequest.uri)
            ? endpoint.engine.validateWebSocket(request: EngineIORequest(target: upgradeRequest.uri, headerFields: []))
            : EngineIOError(.badRequest, "no WebSocket at \(upgradeRequest.uri)")
        if let refused {
            refusal.value = refused
            return channel.eventLoop.makeFailedFuture(refused)
        }
        let refusal = refusal
        return handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
            .flatMapErrorThrowing { error in
                refusal.value = EngineIOError(.badRequest, "invalid WebSocket handshake")
                throw error
            }
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<UpgradeResult> {
        channel.eventLoop.makeCompletedFuture {
            let engine = endpoint.engine
            let request = EngineIORequest(
                target: upgradeRequest.uri,
                headerFields: upgradeRequest.headers.lazy.map { (name: $0.name, value: $0.value) },
                remoteAddress: channel.remoteAddress?.ipAddress
            )
            let maxSize = max(engine.configuration.maxPayload, 1 << 14)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxSize)))
            try pipeline.addHandler(
                NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 10, maxAccumulatedFrameSize: maxSize)
            )
            try pipeline.addHandler(EngineIOWebSocketHandler(engine: engine, request: request, deliveries: deliveries.queue(for: channel.eventLoop)))
            return .webSocket
        }
    }
}
