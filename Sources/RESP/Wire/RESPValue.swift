public import NIOCore

/// One complete RESP2 or RESP3 value, as the server sent it.
///
/// RESP2's null bulk string (`$-1`) and null array (`*-1`) both decode to ``null`` so code
/// that reads replies does not depend on the protocol version. Attributes (`|`) are parsed
/// and dropped: they are out-of-band hints no command here needs.
public enum RESPValue: Sendable, Hashable {
    case simpleString(ByteBuffer)
    case simpleError(ByteBuffer)
    case integer(Int64)
    case bulkString(ByteBuffer)
    case bulkError(ByteBuffer)
    /// A RESP3 verbatim string; the buffer holds the text after the `xxx:` format prefix.
    case verbatimString(format: String, ByteBuffer)
    case null
    case double(Double)
    case boolean(Bool)
    /// A RESP3 big number, kept as its decimal digits.
    case bigNumber(String)
    case array([RESPValue])
    case map([RESPMapEntry])
    case set([RESPValue])
    /// A RESP3 out-of-band push (pub/sub messages, invalidations).
    case push([RESPValue])
}

/// One key/value pair of a RESP3 map, in the order the server sent it.
public struct RESPMapEntry: Sendable, Hashable {
    public var key: RESPValue
    public var value: RESPValue

    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The text of a string-like value (simple, bulk, verbatim, big number), else nil.
    public var string: String? {
        switch self {
        case .simpleString(let b), .bulkString(let b), .verbatimString(_, let b): String(buffer: b)
        case .bigNumber(let s): s
        case .integer(let i): String(i)
        case .double(let d): String(d)
        default: nil
        }
    }

    /// True for `-ERR …` (RESP2/3) and `!…` (RESP3) replies.
    public var isError: Bool {
        switch self {
        case .simpleError, .bulkError: true
        default: false
        }
    }

    /// The elements of an array, set or push; nil for anything else.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let a), .set(let a), .push(let a): a
        default: nil
        }
    }

    /// The pairs of a RESP3 map, or of a RESP2 flat array `[k1, v1, k2, v2…]` that stands
    /// for one. Lets decoders accept either protocol version.
    public var pairs: [RESPMapEntry]? {
        switch self {
        case .map(let entries):
            return entries
        case .array(let a), .set(let a):
            guard a.count % 2 == 0 else { return nil }
            var out: [RESPMapEntry] = []
            out.reserveCapacity(a.count / 2)
            var i = 0
            while i < a.count {
                out.append(RESPMapEntry(key: a[i], value: a[i + 1]))
                i += 2
            }
            return out
        default:
            return nil
        }
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let b): "+\(String(buffer: b))"
        case .simpleError(let b): "-\(String(buffer: b))"
        case .integer(let i): ":\(i)"
        case .bulkString(let b): "$\(String(buffer: b).debugDescription)"
        case .bulkError(let b): "!\(String(buffer: b))"
        case .verbatimString(let f, let b): "=\(f):\(String(buffer: b))"
        case .null: "_"
        case .double(let d): ",\(d)"
        case .boolean(let b): b ? "#t" : "#f"
        case .bigNumber(let s): "(\(s)"
        case .array(let a): "[\(a.map(\.description).joined(separator: ", "))]"
        case .set(let a): "~{\(a.map(\.description).joined(separator: ", "))}"
        case .push(let a): ">[\(a.map(\.description).joined(separator: ", "))]"
        case .map(let m): "%{\(m.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        }
    }
}
