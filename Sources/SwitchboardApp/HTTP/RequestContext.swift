public import Hummingbird
import NIOCore

/// The request context of every Switchboard route: Hummingbird's core storage plus who
/// the caller is once authenticated.
public struct SwitchboardRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller, once the auth middleware has run.
    public var identity: Identity?
    /// The session token when the caller came by cookie (the CSRF token derives from it).
    var sessionToken: String?
    /// The peer's IP address (the proxy's, unless `SWITCHBOARD_TRUST_PROXY` is set).
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// How the caller appears as a message's `authorId` and in the audit log.
    public var principal: String? { identity?.principal }

    /// JSON bodies of the API are small; the webhook reads its own body with its own limit.
    public var maxUploadSize: Int { 1 << 20 }
}
