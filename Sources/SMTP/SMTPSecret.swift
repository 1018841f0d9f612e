/// A secret (an SMTP password) that never shows itself in logs, descriptions or errors.
///
/// Its `description`, `debugDescription` and reflection all print `<redacted>`; only the
/// module reads the value, to put it on the wire inside AUTH.
public struct SMTPSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    let value: String

    /// Wraps a secret value.
    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
