public import EngineIO
public import Hummingbird
import NIOCore
public import SocketIO

extension RouterMethods {
    /// Adds the Engine.IO long-polling routes (GET, POST, OPTIONS) of `server` at `path`.
    ///
    /// WebSocket upgrades need the server built with `.http1SocketIO(_:path:)`; a request
    /// there that cannot upgrade falls through to these routes, which answer with the
    /// protocol's JSON error.
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

enum EngineIOHTTPBinding {
    static func engineRequest(_ request: Request) -> EngineIORequest {
        EngineIORequest(target: request.uri.description, headerFields: request.headers.lazy.map { (name: $0.name.canonicalName, value: $0.value) })
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
