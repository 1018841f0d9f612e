public import Logging

/// swift-log's `StreamLogHandler`, formatting its metadata when a line is written instead of
/// each time metadata is set.
///
/// Hummingbird sets a request id on every request's logger and PostgresNIO a connection id
/// on every statement's, and almost none of them ever log a line. The stream handler formats
/// all of its metadata into a string at each such set: 2 % of `serve`'s CPU while it
/// acknowledges webhooks. The lines written are the stream handler's own.
public struct DeferredMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    public init(_ stream: StreamLogHandler) { self.stream = stream }

    public var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var stream = self.stream
        stream.metadata = metadata
        stream.log(event: event)
    }
}
