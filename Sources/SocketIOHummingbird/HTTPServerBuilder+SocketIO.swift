public import EngineIO
public import HummingbirdCore
public import SocketIO

extension HTTPServerBuilder {
    /// HTTP/1.1 whose WebSocket upgrades at `path` go to `server`, for
    /// `Application(router:server:)`. Add the polling routes with ``RouterMethods/addSocketIO(_:path:cors:)``.
    ///
    /// Upgraded sockets are served by NIO handlers on their event loops: no task, no async
    /// sequence and no buffers beyond NIO's own per connection, so a held client costs a few
    /// KiB, and a broadcast costs one hop and one flush per recipient.
    public static func http1SocketIO(
        _ server: SocketIOServer,
        path: String = "/socket.io/",
        configuration: HTTP1Channel.Configuration = .init()
    ) -> HTTPServerBuilder {
        http1EngineIO(server.engine, path: path, configuration: configuration)
    }

    /// HTTP/1.1 whose WebSocket upgrades at `path` go to a bare Engine.IO server.
    public static func http1EngineIO(
        _ engine: EngineIOServer,
        path: String = "/engine.io/",
        configuration: HTTP1Channel.Configuration = .init()
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            EngineIOHTTPChannel(responder: responder, endpoint: EngineIOEndpoint(path: path, engine: engine), configuration: configuration)
        }
    }
}
