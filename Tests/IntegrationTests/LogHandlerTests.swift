import Logging
import Synchronization
import Testing

@testable import SwitchboardApp

@Suite("Log handler")
struct LogHandlerTests {
    /// Lines written, without their timestamps (the first word).
    final class Lines: TextOutputStream, Sendable {
        private let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
        var withoutTimestamps: [String] {
            text.withLock { $0 }.split(separator: "\n").map { String($0.drop { $0 != " " }) }
        }
    }

    /// The same calls through a logger of each kind.
    func exercise(_ logger: Logger) {
        var logger = logger
        logger.logLevel = .debug
        logger.trace("below the level: not written")
        logger.info("no metadata yet")
        logger[metadataKey: "hb.request.id"] = "42"
        logger[metadataKey: "page"] = "900000000000001"
        logger.debug("with two", metadata: ["extra": "1"])
        var copy = logger
        copy[metadataKey: "copy"] = "only here"
        copy.notice("the copy's")
        logger[metadataKey: "page"] = nil
        logger.error("the original's, one removed")
        logger.handler.metadata = ["replaced": "yes"]
        logger.warning("replaced")
    }

    @Test("writes exactly the stream handler's lines, metadata changes and copies included")
    func sameLinesAsTheStreamHandler() {
        let provider = Logger.MetadataProvider { ["provided": "p"] }
        let stream = Lines()
        let deferred = Lines()
        exercise(Logger(label: "sb") { StreamLogHandler(label: $0, stream: stream, metadataProvider: provider) })
        exercise(Logger(label: "sb") { DeferredMetadataLogHandler(StreamLogHandler(label: $0, stream: deferred, metadataProvider: provider)) })
        #expect(stream.withoutTimestamps.count == 5)
        #expect(deferred.withoutTimestamps == stream.withoutTimestamps)
        #expect(deferred.withoutTimestamps.last?.contains("replaced=yes") == true)
        #expect(deferred.withoutTimestamps.last?.contains("hb.request.id") == false)
    }
}
