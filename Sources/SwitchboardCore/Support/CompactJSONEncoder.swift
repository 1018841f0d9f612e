import Foundation
import Messenger

/// Encodes `Encodable` values to JSON with sorted keys and unescaped slashes: the bytes
/// Foundation's `JSONEncoder` writes with `[.sortedKeys, .withoutEscapingSlashes]` and its
/// default strategies (dates as seconds since 2001, data as Base64, URLs as their absolute
/// string, decimals as numbers), in a fraction of the time.
///
/// Every realtime event, stored JSON column and API answer is encoded once per message, and
/// under the send benchmark Foundation's encoder was 8 % of serve's CPU: it checks each value
/// against the types it treats specially by dynamic cast. Here those types are recognised by
/// identity, and keys sort by their UTF-8 bytes, which is Unicode scalar order: the order of
/// `<` for keys in normal form C, as Switchboard's keys are. A test compares the two
/// encoders' bytes.
public struct CompactJSONEncoder: Sendable {
    public init() {}

    public func encode(_ value: some Encodable) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try JSONNode.encoding(value, at: []).write(into: &out)
        return out
    }

    /// The JSON as a `String`.
    public func encodeString(_ value: some Encodable) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
}

/// A JSON value being built: containers are boxes, so nested containers handed out by an
/// encoder can still be filled after they were stored in their parent.
private enum JSONNode {
    case null
    case literal(String)  // a number, true or false, or a JSONFragment
    case string(String)
    case array(ArrayBox)
    case object(ObjectBox)
    /// What an encoder handed out by `superEncoder` ends up holding.
    case deferred(NodeEncoder)

    final class ArrayBox {
        var items: [JSONNode] = []
    }

    final class ObjectBox {
        /// In the order encoded; a key encoded twice keeps its last value.
        var members: [(key: String, value: JSONNode)]

        init() {
            members = []
            members.reserveCapacity(8)
        }
    }

    static func encoding<T: Encodable>(_ value: T, at codingPath: @autoclosure () -> [any CodingKey]) throws -> JSONNode {
        // Type identity first: a dynamic cast per candidate type costs more than the rest.
        switch ObjectIdentifier(T.self) {
        case ObjectIdentifier(String.self): return .string(unsafeBitCast(value, to: String.self))
        case ObjectIdentifier(Int.self): return .literal(String(unsafeBitCast(value, to: Int.self)))
        case ObjectIdentifier(Int64.self): return .literal(String(unsafeBitCast(value, to: Int64.self)))
        case ObjectIdentifier(Bool.self): return .literal(unsafeBitCast(value, to: Bool.self) ? "true" : "false")
        case ObjectIdentifier(Double.self): return try number(unsafeBitCast(value, to: Double.self), at: codingPath())
        case ObjectIdentifier(Date.self): return try number(unsafeBitCast(value, to: Date.self).timeIntervalSinceReferenceDate, at: codingPath())
        case ObjectIdentifier(Data.self): return .string((value as! Data).base64EncodedString())
        case ObjectIdentifier(URL.self): return .string((value as! URL).absoluteString)
        case ObjectIdentifier(Decimal.self): return .literal((value as! Decimal).description)
        case ObjectIdentifier(JSONFragment.self): return .literal((value as! JSONFragment).text)
        default:
            let encoder = NodeEncoder(codingPath: codingPath())
            try value.encode(to: encoder)
            return encoder.node ?? .object(ObjectBox())
        }
    }

    /// As Foundation writes numbers: the shortest form that reads back the same, without a
    /// trailing `.0`; not-a-number and infinities cannot be written.
    static func number<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, at codingPath: [any CodingKey]) throws -> JSONNode {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "\(value) is not valid JSON."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .literal(text)
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .literal(let text): out.append(contentsOf: text.utf8)
        case .string(let text): Self.write(string: text, into: &out)
        case .array(let box):
            out.append(UInt8(ascii: "["))
            for (index, item) in box.items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let box):
            out.append(UInt8(ascii: "{"))
            // Sorted by key (byte order: Unicode scalar order, as `<` for the keys written),
            // stable, so that of a key encoded twice only the last is written.
            let members = box.members
            let order = members.indices.sorted { a, b in
                let (x, y) = (members[a].key, members[b].key)
                return x == y ? a < b : x.utf8.lexicographicallyPrecedes(y.utf8)
            }
            var first = true
            for (position, index) in order.enumerated() {
                if position + 1 < order.count, members[order[position + 1]].key == members[index].key { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                Self.write(string: members[index].key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[index].value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .deferred(let encoder): (encoder.node ?? .object(ObjectBox())).write(into: &out)
        }
    }

    static func write(string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            var plainFrom = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom..<index]))
                plainFrom = index + 1
                out.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                default:
                    out.append(contentsOf: "u00".utf8)
                    out.append(contentsOf: Hex.lowercase(CollectionOfOne(byte)).utf8)
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainFrom...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// The `Encoder` the standard library's and our types encode themselves to.
private final class NodeEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// What was encoded: nil until a container or value arrives.
    var node: JSONNode?

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box: JSONNode.ObjectBox
        if case .object(let existing) = node {
            box = existing
        } else {
            box = JSONNode.ObjectBox()
            node = .object(box)
        }
        return KeyedEncodingContainer(KeyedContainer(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box: JSONNode.ArrayBox
        if case .array(let existing) = node {
            box = existing
        } else {
            box = JSONNode.ArrayBox()
            node = .array(box)
        }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueContainer(encoder: self) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: JSONNode.ObjectBox
    let codingPath: [any CodingKey]

    private func put(_ node: JSONNode, _ key: Key) { box.members.append((key.stringValue, node)) }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: some Encodable, forKey key: Key) throws { put(try JSONNode.encoding(value, at: codingPath + [key]), key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.literal(value ? "true" : "false"), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(try .number(value, at: codingPath + [key]), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(try .number(value, at: codingPath + [key]), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(.literal(String(value)), key) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONNode.ObjectBox()
        box.members.append((key.stringValue, .object(nested)))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = JSONNode.ArrayBox()
        box.members.append((key.stringValue, .array(nested)))
        return UnkeyedContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let encoder = NodeEncoder(codingPath: codingPath + [JSONKey(name)])
        box.members.append((name, .deferred(encoder)))
        return encoder
    }
}

/// The primitive `encode` overloads of the unkeyed and single-value containers, once.
private protocol NodeSink {
    var codingPath: [any CodingKey] { get }
    mutating func put(_ node: JSONNode)
}

extension NodeSink {
    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: some Encodable) throws { put(try JSONNode.encoding(value, at: codingPath)) }
    mutating func encode(_ value: Bool) throws { put(.literal(value ? "true" : "false")) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try .number(value, at: codingPath)) }
    mutating func encode(_ value: Float) throws { put(try .number(value, at: codingPath)) }
    mutating func encode(_ value: Int) throws { put(.literal(String(value))) }
    mutating func encode(_ value: Int8) throws { put(.literal(String(value))) }
    mutating func encode(_ value: Int16) throws { put(.literal(String(value))) }
    mutating func encode(_ value: Int32) throws { put(.literal(String(value))) }
    mutating func encode(_ value: Int64) throws { put(.literal(String(value))) }
    mutating func encode(_ value: UInt) throws { put(.literal(String(value))) }
    mutating func encode(_ value: UInt8) throws { put(.literal(String(value))) }
    mutating func encode(_ value: UInt16) throws { put(.literal(String(value))) }
    mutating func encode(_ value: UInt32) throws { put(.literal(String(value))) }
    mutating func encode(_ value: UInt64) throws { put(.literal(String(value))) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer, NodeSink {
    let box: JSONNode.ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { box.items.count }

    private var nextPath: [any CodingKey] { codingPath + [JSONKey(index: box.items.count)] }

    mutating func put(_ node: JSONNode) { box.items.append(node) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONNode.ObjectBox()
        let path = nextPath
        box.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = JSONNode.ArrayBox()
        let path = nextPath
        box.items.append(.array(nested))
        return UnkeyedContainer(box: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = NodeEncoder(codingPath: nextPath)
        box.items.append(.deferred(encoder))
        return encoder
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer, NodeSink {
    let encoder: NodeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func put(_ node: JSONNode) { encoder.node = node }
}

private struct JSONKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ name: String) {
        stringValue = name
        intValue = nil
    }

    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}
