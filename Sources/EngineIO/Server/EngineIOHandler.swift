public import NIOCore

/// The seam between Engine.IO and the protocol above it (Socket.IO).
///
/// Calls for one session arrive in order and never concurrently: open, then messages, then
/// close exactly once. They are synchronous and must not block: queue real work elsewhere.
public protocol EngineIOHandler: Sendable {
    /// A session opened; attach per-session state with ``EngineIOSession/attachment``.
    func engineIOSessionDidOpen(_ session: EngineIOSession)
    /// A `message` packet arrived.
    func engineIOSession(_ session: EngineIOSession, didReceive message: EngineIOData)
    /// The session closed; nothing more will arrive and sends are dropped.
    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason)
    /// The session moved from polling to WebSocket.
    func engineIOSessionDidUpgrade(_ session: EngineIOSession)
}

extension EngineIOHandler {
    public func engineIOSessionDidUpgrade(_ session: EngineIOSession) {}
}

/// One HTTP response produced by the polling transport, independent of any HTTP library.
public struct EngineIOHTTPResponse: Sendable, Hashable {
    public var status: Int
    public var contentType: String
    public var body: ByteBuffer

    public init(status: Int, contentType: String = "text/plain; charset=UTF-8", body: ByteBuffer) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A protocol error: 400 (403 for forbidden) with `{"code":n,"message":…}`.
    public static func error(_ error: EngineIOError) -> Self {
        .init(status: error.protocolCode == 4 ? 403 : 400, contentType: "application/json", body: ByteBuffer(string: error.protocolBody))
    }
}
