/// The one error type of Switchboard's domain: a stable machine-readable code plus a
/// sentence for a person. The HTTP mapping lives in the app layer, never here.
public struct SwitchboardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, dotted code (`conversation.not_found`). New codes can be added without
    /// breaking callers that switch on the ones they know.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let notFound = Code("not_found")
        public static let conversationNotFound = Code("conversation.not_found")
        public static let invalidArgument = Code("request.invalid_argument")
        public static let storageUnavailable = Code("storage.unavailable")
        public static let migrationsPending = Code("storage.migrations_pending")
        public static let migrationsAhead = Code("storage.schema_newer_than_binary")
        public static let configurationInvalid = Code("configuration.invalid")
        public static let unauthorized = Code("auth.unauthorized")
        public static let conflict = Code("request.conflict")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
