public import Hummingbird

/// The request context of every Switchboard route: Hummingbird's core storage plus who
/// the caller is once authenticated.
public struct SwitchboardRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The API token's name (or, later, the signed-in user) once authenticated.
    public var principal: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// JSON bodies of the API are small; the webhook reads its own body with its own limit.
    public var maxUploadSize: Int { 1 << 20 }
}
