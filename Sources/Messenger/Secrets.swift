/// The Facebook app secret that keys webhook signatures.
///
/// Typed so it cannot be logged by accident (invariant 8): `description`, `debugDescription`
/// and reflection all show `<redacted>`. Read the value only through `exposedValue`, whose
/// name makes each use easy to find in review.
public struct AppSecret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The secret itself. Every use is a place a secret leaves its wrapper.
    public let exposedValue: String

    public init(_ value: String) { self.exposedValue = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "AppSecret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// A Page access token, sent only in the `Authorization: Bearer` header, never in a URL and
/// never logged (invariant 8). Encrypt `exposedValue` at rest.
public struct PageAccessToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The token itself. Every use is a place a secret leaves its wrapper.
    public let exposedValue: String

    public init(_ value: String) { self.exposedValue = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "PageAccessToken(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
