/// A bounded JSON reader and a compact writer for ``SocketIOValue``.
///
/// The reader rejects trailing garbage, nesting deeper than `maxDepth`, invalid escapes and
/// invalid UTF-8; it never traps on any input. The writer matches `JSON.stringify` for
/// the values clients send (integers stay integers, keys keep their order).
public enum SocketIOJSON {
    /// Parses one JSON document.
    public static func parse(_ text: some StringProtocol, maxDepth: Int = 32) throws(SocketIOError) -> SocketIOValue {
        var text = String(text)
        let result = text.withUTF8 { (bytes: UnsafeBufferPointer<UInt8>) -> Result<SocketIOValue, SocketIOError> in
            var reader = Reader(bytes: bytes, maxDepth: maxDepth)
            reader.skipWhitespace()
            do throws(SocketIOError) {
                let value = try reader.readValue(depth: 0)
                reader.skipWhitespace()
                guard reader.index == bytes.count else { return .failure(SocketIOError(.invalidPayload, "trailing characters")) }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Serializes a value; binary values must have been replaced by placeholders already
    /// (a stray one is written as a placeholder with num -1).
    public static func serialize(_ value: SocketIOValue) -> String {
        var output = ""
        write(value, into: &output)
        return output
    }

    /// Appends the serialization of `value` to `output`.
    public static func write(_ value: SocketIOValue, into output: inout String) {
        switch value {
        case .null: output += "null"
        case .bool(let b): output += b ? "true" : "false"
        case .int(let i): output += String(i)
        case .double(let d): writeDouble(d, into: &output)
        case .string(let s): writeString(s, into: &output)
        case .array(let items):
            output += "["
            for (index, item) in items.enumerated() {
                if index > 0 { output += "," }
                write(item, into: &output)
            }
            output += "]"
        case .object(let fields):
            output += "{"
            for (index, field) in fields.enumerated() {
                if index > 0 { output += "," }
                writeString(field.key, into: &output)
                output += ":"
                write(field.value, into: &output)
            }
            output += "}"
        case .binary:
            output += "{\"_placeholder\":true,\"num\":-1}"
        }
    }

    static func writeDouble(_ d: Double, into output: inout String) {
        guard d.isFinite else {
            output += "null"
            return
        }
        if d == d.rounded(), abs(d) < 1e15 {
            output += String(Int64(d))
        } else {
            output += "\(d)"
        }
    }

    static func writeString(_ s: String, into output: inout String) {
        output += "\""
        var needsEscaping = false
        for byte in s.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscaping = true
            break
        }
        if !needsEscaping {
            output += s
        } else {
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": output += "\\\""
                case "\\": output += "\\\\"
                case "\n": output += "\\n"
                case "\r": output += "\\r"
                case "\t": output += "\\t"
                case "\u{08}": output += "\\b"
                case "\u{0C}": output += "\\f"
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        output.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        output += "\""
    }

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        func fail(_ message: String) -> SocketIOError {
            SocketIOError(.invalidPayload, "\(message) at \(index)")
        }

        mutating func readValue(depth: Int) throws(SocketIOError) -> SocketIOValue {
            guard depth <= maxDepth else { throw fail("nesting too deep") }
            guard index < bytes.count else { throw fail("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try readObject(depth: depth)
            case UInt8(ascii: "["): return try readArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try readString())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
            default: throw fail("unexpected character")
            }
        }

        mutating func expect(_ literal: StaticString) throws(SocketIOError) {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail("bad literal") }
            let start = literal.utf8Start
            for offset in 0..<count where bytes[index + offset] != start[offset] { throw fail("bad literal") }
            index += count
        }

        mutating func readObject(depth: Int) throws(SocketIOError) -> SocketIOValue {
            index += 1
            var fields: [SocketIOValue.Field] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(fields)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected key") }
                let key = try readString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected colon") }
                index += 1
                skipWhitespace()
                let value = try readValue(depth: depth + 1)
                fields.append(.init(key, value))
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected , or }") }
                index += 1
                return .object(fields)
            }
        }

        mutating func readArray(depth: Int) throws(SocketIOError) -> SocketIOValue {
            index += 1
            var items: [SocketIOValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try readValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected , or ]") }
                index += 1
                return .array(items)
            }
        }

        mutating func readNumber() throws(SocketIOError) -> SocketIOValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("bad number") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw fail("bad fraction") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw fail("bad exponent") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let value = Int64(text) { return .int(value) }
            guard let value = Double(text) else { throw fail("bad number") }
            return .double(value)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        mutating func readHex4() throws(SocketIOError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("bad \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail("bad \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func readString() throws(SocketIOError) -> String {
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    guard let string = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8") }
                    return string
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                index += 1
            }
            var scalars = String.UnicodeScalarView()
            guard let prefix = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self) else {
                throw fail("invalid UTF-8")
            }
            scalars.append(contentsOf: prefix.unicodeScalars)
            var runStart = index
            func flush(_ reader: Reader, to end: Int, into scalars: inout String.UnicodeScalarView) -> Bool {
                guard end > runStart else { return true }
                guard let run = String(validating: UnsafeBufferPointer(rebasing: reader.bytes[runStart..<end]), as: UTF8.self) else {
                    return false
                }
                scalars.append(contentsOf: run.unicodeScalars)
                return true
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    guard flush(self, to: index, into: &scalars) else { throw fail("invalid UTF-8") }
                    index += 1
                    return String(scalars)
                }
                if byte < 0x20 { throw fail("control character in string") }
                if byte != UInt8(ascii: "\\") {
                    index += 1
                    continue
                }
                guard flush(self, to: index, into: &scalars) else { throw fail("invalid UTF-8") }
                index += 1
                guard index < bytes.count else { throw fail("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try readHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // A surrogate pair; a lone surrogate becomes U+FFFD like a lenient JS reader.
                        if index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                            let save = index
                            index += 2
                            let low = try readHex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = save
                                code = 0xFFFD
                            }
                        } else {
                            code = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(code) {
                        code = 0xFFFD
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default:
                    throw fail("bad escape")
                }
                runStart = index
            }
            throw fail("unterminated string")
        }
    }
}
