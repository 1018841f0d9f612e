/// The one error type of the webhook half of the Messenger module.
///
/// Callers switch on `code` (stable, documented strings such as `webhook.signature_invalid`),
/// never on `message`, which is for people and logs. The `Code` wraps a private enum so new
/// codes can be added without breaking anyone's exhaustive `switch`.
public struct MessengerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, machine-readable reason.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case signatureMissing = "webhook.signature_missing"
            case signatureUnsupportedAlgorithm = "webhook.signature_unsupported_algorithm"
            case signatureMalformed = "webhook.signature_malformed"
            case signatureInvalid = "webhook.signature_invalid"
            case bodyNotJSON = "webhook.body_not_json"
            case entryMissing = "webhook.entry_missing"
            case objectNotPage = "webhook.object_not_page"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No `X-Hub-Signature-256` header at all.
        public static var signatureMissing: Self { Self(.signatureMissing) }
        /// The header does not start with `sha256=` (e.g. a `sha1=` value was passed).
        public static var signatureUnsupportedAlgorithm: Self { Self(.signatureUnsupportedAlgorithm) }
        /// The part after the prefix is not 64 hexadecimal digits.
        public static var signatureMalformed: Self { Self(.signatureMalformed) }
        /// Well-formed, but it does not match the body and app secret.
        public static var signatureInvalid: Self { Self(.signatureInvalid) }
        /// The body is not JSON at all (or is truncated).
        public static var bodyNotJSON: Self { Self(.bodyNotJSON) }
        /// JSON, but without an `entry` array (nor the `{"field","value"}` test form).
        public static var entryMissing: Self { Self(.entryMissing) }
        /// `object` is something other than `page` (e.g. `instagram`, `user`).
        public static var objectNotPage: Self { Self(.objectNotPage) }

        /// The stable string, e.g. `webhook.signature_invalid`.
        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// A sentence for logs and people; never matched on.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
