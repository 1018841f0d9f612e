public import NIOCore

/// A Socket.IO argument: JSON plus binary. Objects keep their key order, so what a client
/// sent is echoed byte for byte.
public enum SocketIOValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([SocketIOValue])
    case object([Field])
    case binary(ByteBuffer)

    /// One member of an object.
    public struct Field: Sendable, Hashable {
        public var key: String
        public var value: SocketIOValue
        public init(_ key: String, _ value: SocketIOValue) {
            self.key = key
            self.value = value
        }
    }

    /// An empty object, `{}`.
    public static let emptyObject = SocketIOValue.object([])

    /// Builds an object from key/value pairs, in order.
    public static func object(_ pairs: KeyValuePairs<String, SocketIOValue>) -> SocketIOValue {
        .object(pairs.map { Field($0.key, $0.value) })
    }

    /// The member named `key` of an object (last one wins), or `nil`.
    public subscript(key: String) -> SocketIOValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.last(where: { $0.key == key })?.value
    }

    /// The element at `index` of an array, or `nil`.
    public subscript(index: Int) -> SocketIOValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// Whether any binary value is nested inside.
    public var containsBinary: Bool {
        switch self {
        case .binary: true
        case .array(let items): items.contains { $0.containsBinary }
        case .object(let fields): fields.contains { $0.value.containsBinary }
        default: false
        }
    }
}

extension SocketIOValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: SocketIOValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, SocketIOValue)...) { self = .object(elements.map { Field($0.0, $0.1) }) }
}
