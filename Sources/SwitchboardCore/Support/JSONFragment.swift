import Foundation

/// JSON that is already serialised (a stored realtime payload), encoded as itself.
///
/// ``CompactJSONEncoder`` writes its text verbatim: `GET /api/events` serves thousands of
/// stored payloads per page, and decoding each only to encode it again was most of that
/// request's work. Any other encoder gets the value decoded and encoded again, so the text
/// should come from ``CompactJSONEncoder`` (sorted keys) for both to write the same bytes.
public struct JSONFragment: Encodable, Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public func encode(to encoder: any Encoder) throws {
        try JSONDecoder().decode(AnyJSON.self, from: Data(text.utf8)).encode(to: encoder)
    }
}

/// Any JSON value, for encoders that cannot take a fragment as it is.
private enum AnyJSON: Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([AnyJSON])
    case object([String: AnyJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([AnyJSON].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: AnyJSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { try container.encode(Int64(n)) } else { try container.encode(n) }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}
