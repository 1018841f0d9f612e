/// The provider's API key, sent only in the `Authorization: Bearer` header.
///
/// Typed so it cannot be logged by accident: `description`, `debugDescription` and
/// reflection all show `<redacted>`. Read the value only through `exposedValue`, whose name
/// makes each use easy to find in review. Switchboard stores it encrypted, like Page tokens.
public struct LLMAPIKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key itself. Every use is a place a secret leaves its wrapper.
    public let exposedValue: String

    public init(_ value: String) { self.exposedValue = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "LLMAPIKey(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
