import EngineIO
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Hummingbird's HTTP/1.1 child channel, plus WebSocket upgrades to Engine.IO servers at
/// their paths. An upgraded socket is served by ``EngineIOWebSocketHandler`` on its event
/// loop, so it holds no task and no async sequences; everything else (including a refused
/// upgrade) is ordinary HTTP for the application's router.
struct EngineIOHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    enum Upgrade: Sendable {
        case webSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgrade: EventLoopFuture<Upgrade>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let endpoint: EngineIOEndpoint
    let configuration: HTTP1Channel.Configuration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration<Upgrade>(
                upgraders: [EngineIOWebSocketUpgrader(endpoint: endpoint)],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try pipeline.addHandlers(configuration.additionalChannelHandlers())
                        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger))
                        return .http(
                            try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        )
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

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgrade.get() {
            case .webSocket:
                return  // the socket's handler serves it from here on
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            }
        } catch {
            logger.debug("HTTP/1.1 setup failed", metadata: ["error": "\(error)"])
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
/// (a handshake, or a known session); a refusal leaves the request to the HTTP routes, which
/// answer with the protocol's error. The pipeline after the upgrade is ours: frame decoder,
/// fragment aggregator and ``EngineIOWebSocketHandler``, which encodes its own frames.
struct EngineIOWebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = EngineIOHTTPChannel.Upgrade

    struct Refused: Error {}

    let endpoint: EngineIOEndpoint
    /// RFC 6455's handshake checks (version 13, one key) and `Sec-WebSocket-Accept`; its
    /// own pipeline setup is never used.
    private let handshake: NIOTypedWebSocketServerUpgrader<UpgradeResult>

    init(endpoint: EngineIOEndpoint) {
        self.endpoint = endpoint
        self.handshake = NIOTypedWebSocketServerUpgrader(
            shouldUpgrade: { channel, head in
                let accepted =
                    endpoint.matches(target: head.uri)
                    && endpoint.engine.validateWebSocket(request: EngineIORequest(target: head.uri, headerFields: [])) == nil
                return channel.eventLoop.makeSucceededFuture(accepted ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeFailedFuture(Refused()) }
        )
    }

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(
        channel: any Channel,
        upgradeRequest: HTTPRequestHead,
        initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
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
            try pipeline.addHandler(EngineIOWebSocketHandler(engine: engine, request: request))
            return .webSocket
        }
    }
}
