public import Hummingbird
internal import NIOCore

/// The emulator's request context: keeps the connection's channel so a fault can close it
/// without an answer ("connection reset after reading the request").
public struct EmulatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
