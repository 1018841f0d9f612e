public import NIOCore

/// A Swift type a reply can be decoded into. Decoding is kept apart from parsing so the same
/// ``RESPValue`` can be read as a `String`, an `Int`, a buffer or a custom type.
public protocol RESPValueDecodable: Sendable {
    init(fromRESP value: RESPValue) throws(RedisError)
}

extension RedisError {
    static func unexpected(_ value: RESPValue, expected: String) -> RedisError {
        var text = value.description
        if text.count > 200 { text = String(text.prefix(200)) + "…" }
        return RedisError(.unexpectedResponse, message: "expected \(expected), got \(text)")
    }
}

extension RESPValue: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) { self = value }
}

extension String: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        guard let s = value.string else { throw .unexpected(value, expected: "a string") }
        self = s
    }
}

extension ByteBuffer: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        switch value {
        case .bulkString(let b), .simpleString(let b), .verbatimString(_, let b): self = b
        default: throw .unexpected(value, expected: "a string")
        }
    }
}

extension Int: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        switch value {
        case .integer(let i): self = Int(i)
        case .bulkString, .simpleString:
            guard let s = value.string, let i = Int(s) else { throw .unexpected(value, expected: "an integer") }
            self = i
        case .boolean(let b): self = b ? 1 : 0
        default: throw .unexpected(value, expected: "an integer")
        }
    }
}

extension Double: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        switch value {
        case .double(let d): self = d
        case .integer(let i): self = Double(i)
        case .bulkString, .simpleString:
            guard let s = value.string else { throw .unexpected(value, expected: "a number") }
            switch s {
            case "inf", "+inf": self = .infinity
            case "-inf": self = -.infinity
            default:
                guard let d = Double(s) else { throw .unexpected(value, expected: "a number") }
                self = d
            }
        default: throw .unexpected(value, expected: "a number")
        }
    }
}

extension Bool: RESPValueDecodable {
    /// `:1`/`:0`, RESP3 `#t`/`#f`, or `+OK` (true).
    public init(fromRESP value: RESPValue) throws(RedisError) {
        switch value {
        case .boolean(let b): self = b
        case .integer(let i): self = i != 0
        case .simpleString: self = true
        case .null: self = false
        default: throw .unexpected(value, expected: "a boolean")
        }
    }
}

extension Optional: RESPValueDecodable where Wrapped: RESPValueDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        if case .null = value {
            self = .none
        } else {
            self = .some(try Wrapped(fromRESP: value))
        }
    }
}

extension Array: RESPValueDecodable where Element: RESPValueDecodable {
    /// An array or set; a RESP2 null array decodes as empty.
    public init(fromRESP value: RESPValue) throws(RedisError) {
        if case .null = value {
            self = []
            return
        }
        guard let elements = value.elements else { throw .unexpected(value, expected: "an array") }
        var out: [Element] = []
        out.reserveCapacity(elements.count)
        for e in elements { out.append(try Element(fromRESP: e)) }
        self = out
    }
}

extension Dictionary: RESPValueDecodable where Key: RESPValueDecodable, Value: RESPValueDecodable {
    /// A RESP3 map or a RESP2 flat `[k, v, …]` array.
    public init(fromRESP value: RESPValue) throws(RedisError) {
        if case .null = value {
            self = [:]
            return
        }
        guard let pairs = value.pairs else { throw .unexpected(value, expected: "a map") }
        var out: [Key: Value] = [:]
        out.reserveCapacity(pairs.count)
        for p in pairs { out[try Key(fromRESP: p.key)] = try Value(fromRESP: p.value) }
        self = out
    }
}
