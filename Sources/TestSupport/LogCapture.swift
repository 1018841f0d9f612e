public import Logging
import Synchronization

/// Every log line of a test (level, label, message, metadata, source and place), so a
/// test can prove a secret never appears in one.
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// The lines captured so far, in order.
    public var all: [String] { lines.withLock { $0 } }

    /// A logger at `trace` whose every line is captured.
    public func logger(_ label: String = "test") -> Logger {
        var logger = Logger(label: label) { label in Handler(label: label, capture: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            capture.append("\(event.level) \(label) \(event.message) \(merged) \(event.source) \(event.file):\(event.line)")
        }
    }
}
