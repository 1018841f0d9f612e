public import EngineIO
public import Hummingbird
public import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
public import SocketIO

extension RouterMethods {
    /// Adds the Engine.IO long-polling routes (GET, POST, OPTIONS) of `server` at `path`.
    ///
    /// WebSocket upgrades need ``addSocketIOWebSocket(_:path:)`` on the router given to
    /// `.http1WebSocketUpgrade(webSocketRouter:)`; a request there that cannot upgrade falls
    /// through to these routes, which answer with the protocol's JSON error.
    @discardableResult
    public func addSocketIO(_ server: SocketIOServer, path: RouterPath = "/socket.io/", cors: SocketIOCORS = .init()) -> Self {
        addEngineIO(server.engine, path: path, cors: cors)
    }

    /// Adds the long-polling routes of a bare Engine.IO server.
    @discardableResult
    public func addEngineIO(_ engine: EngineIOServer, path: RouterPath = "/engine.io/", cors: SocketIOCORS = .init()) -> Self {
        let handler: @Sendable (Request, Context) async throws -> Response = { request, _ in
            try await EngineIOHTTPBinding.respond(to: request, engine: engine, cors: cors)
        }
        on(path, method: .get, use: handler)
        on(path, method: .post, use: handler)
        on(path, method: .put, use: handler)
        on(path, method: .options) { request, _ -> Response in
            let headers = cors.headers(
                origin: request.headers[.origin],
                preflight: true,
                requestedHeaders: request.headers[.accessControlRequestHeaders]
            )
            return Response(status: .noContent, headers: headers)
        }
        return self
    }
}

extension RouterMethods where Context: WebSocketRequestContext {
    /// Adds the WebSocket transport of `server` at `path` (use it on the WebSocket router).
    @discardableResult
    public func addSocketIOWebSocket(_ server: SocketIOServer, path: RouterPath = "/socket.io/") -> Self {
        addEngineIOWebSocket(server.engine, path: path)
    }

    /// Adds the WebSocket transport of a bare Engine.IO server.
    @discardableResult
    public func addEngineIOWebSocket(_ engine: EngineIOServer, path: RouterPath = "/engine.io/") -> Self {
        ws(path) { request, _ in
            engine.validateWebSocket(request: EngineIOHTTPBinding.engineRequest(request)) == nil ? .upgrade([:]) : .dontUpgrade
        } onUpgrade: { inbound, outbound, context in
            await engine.serveWebSocket(
                request: EngineIOHTTPBinding.engineRequest(context.request),
                inbound: EngineIOInboundMessages(base: inbound.messages(maxSize: engine.configuration.maxPayload)),
                writer: EngineIOOutboundWriter(outbound: outbound)
            )
        }
    }
}

/// WebSocket settings that suit a Socket.IO server: frames up to `maxPayload`, and no
/// WebSocket-level pings (Engine.IO has its own heartbeat).
public func socketIOWebSocketConfiguration(for engine: EngineIOServer) -> WebSocketServerConfiguration {
    WebSocketServerConfiguration(maxFrameSize: max(engine.configuration.maxPayload, 1 << 14), autoPing: .disabled)
}

enum EngineIOHTTPBinding {
    static func engineRequest(_ request: Request) -> EngineIORequest {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            if let existing = headers[name] {
                headers[name] = existing + (name == "cookie" ? "; " : ", ") + field.value
            } else {
                headers[name] = field.value
            }
        }
        return EngineIORequest(query: EngineIORequest.parseQuery(request.uri.query.map { Substring($0) } ?? ""), headers: headers)
    }

    static func respond(to request: Request, engine: EngineIOServer, cors: SocketIOCORS) async throws -> Response {
        let method: EngineIOHTTPMethod =
            switch request.method {
            case .get: .get
            case .post: .post
            default: .other
            }
        let engineRequest = engineRequest(request)
        var body = ByteBuffer()
        if method == .post {
            do {
                body = try await request.body.collect(upTo: engine.configuration.maxPayload)
            } catch {
                if let sid = engineRequest.query["sid"] { engine.session(id: sid)?.close(.transportError) }
                let failure = EngineIOError(.payloadTooLarge)
                return Response(
                    status: .contentTooLarge,
                    headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: failure.protocolBody))
                )
            }
        }
        let result = await engine.handleHTTP(method: method, request: engineRequest, body: body)
        var headers = cors.headers(origin: request.headers[.origin], preflight: false, requestedHeaders: nil)
        headers[.contentType] = result.contentType
        headers[.cacheControl] = "no-store"
        return Response(status: .init(code: result.status), headers: headers, body: .init(byteBuffer: result.body))
    }
}

struct EngineIOInboundMessages: AsyncSequence, Sendable {
    typealias Element = EngineIOData
    let base: WebSocketInboundMessageStream

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: WebSocketInboundMessageStream.AsyncIterator

        mutating func next() async throws -> EngineIOData? {
            switch try await base.next() {
            case .text(let text): .text(text)
            case .binary(let bytes): .binary(bytes)
            case nil: nil
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}

struct EngineIOOutboundWriter: EngineIOWebSocketWriter {
    let outbound: WebSocketOutboundWriter

    func write(_ frames: [EngineIOFrame]) async throws {
        for frame in frames {
            switch frame {
            case .text(let bytes): try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: bytes)))
            case .binary(let bytes): try await outbound.write(.binary(bytes))
            }
        }
    }
}
