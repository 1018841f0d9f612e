import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension SocketIOValue {
    /// Encodes a Codable value as an argument (through JSON; `Data` becomes base64 text —
    /// send ``SocketIOValue/binary(_:)`` for real binary).
    public init<T: Encodable>(encoding value: T) throws(SocketIOError) {
        if let value = value as? SocketIOValue {
            self = value
            return
        }
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw SocketIOError(.encodingFailed, "\(error)")
        }
        self = try SocketIOJSON.parse(String(decoding: data, as: UTF8.self), maxDepth: 512)
    }

    /// Decodes this argument into a Codable type (binary arrives as base64 text, which
    /// `Data` decodes).
    public func decode<T: Decodable>(as type: T.Type = T.self) throws(SocketIOError) -> T {
        if let value = self as? T { return value }
        var text = ""
        Self.writeForDecoding(self, into: &text)
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw SocketIOError(.decodingFailed, "\(T.self): \(error)")
        }
    }

    static func writeForDecoding(_ value: SocketIOValue, into output: inout String) {
        switch value {
        case .binary(let bytes):
            var buffer = ByteBuffer()
            base64(bytes, into: &buffer)
            output += "\"" + String(buffer: buffer) + "\""
        case .array(let items) where value.containsBinary:
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                writeForDecoding(item, into: &output)
            }
            output += "]"
        case .object(let fields) where value.containsBinary:
            output += "{"
            for (index, field) in fields.enumerated() {
                if index > 0 { output += "," }
                SocketIOJSON.writeString(field.key, into: &output)
                output += ":"
                writeForDecoding(field.value, into: &output)
            }
            output += "}"
        default:
            SocketIOJSON.write(value, into: &output)
        }
    }

    static func base64(_ bytes: ByteBuffer, into output: inout ByteBuffer) {
        output.writeString(Data(bytes.readableBytesView).base64EncodedString())
    }
}

extension SocketIOValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int64.self) {
            self = .int(int)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([SocketIOValue].self) {
            self = .array(array)
        } else {
            let object = try container.decode([String: SocketIOValue].self)
            self = .object(object.sorted { $0.key < $1.key }.map { Field($0.key, $0.value) })
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let items): try container.encode(items)
        case .object(let fields):
            var dictionary: [String: SocketIOValue] = [:]
            for field in fields { dictionary[field.key] = field.value }
            try container.encode(dictionary)
        case .binary(let bytes): try container.encode(Data(bytes.readableBytesView))
        }
    }
}
