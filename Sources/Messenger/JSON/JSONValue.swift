/// A parsed JSON document, kept loose so the webhook decoder can be tolerant: ids that are
/// strings or numbers, unknown keys, unknown event kinds whose JSON we keep verbatim.
///
/// Integers are kept as `Int64` (PSIDs and page ids exceed `Double`'s 2^53 exact range).
/// Shared with the GraphEmulator through SPI; not part of the public API.
@_spi(GraphEmulator)
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses bytes; nil when they are not one complete JSON value.
    public static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
        let parsed = bytes.withContiguousStorageIfAvailable { JSONParser.parse($0) }
        if let parsed { return parsed }
        return Array(bytes).withUnsafeBufferPointer { JSONParser.parse($0) }
    }

    /// Compact JSON text with sorted keys (stable, so equal events give equal strings).
    public var jsonText: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The same as `jsonText`, as bytes.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(self, into: &out)
        return out
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var object: [String: JSONValue]? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// A string, or nil (numbers are not turned into text here; see `id`).
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var bool: Bool? {
        switch self {
        case .bool(let value): value
        case .string("true"): true
        case .string("false"): false
        default: nil
        }
    }

    /// An opaque identifier given either as a JSON string or as a JSON number.
    public var id: String? {
        switch self {
        case .string(let value): value.isEmpty ? nil : value
        case .int(let value): String(value)
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: String(Int64(value))
        default: nil
        }
    }

    /// An integer given as a number or as a numeric string (timestamps, watermarks).
    public var int64: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: Int64(value)
        case .string(let value): Int64(value)
        default: nil
        }
    }
}
