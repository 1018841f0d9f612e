/// Quoted-printable (RFC 2045 §6.7) for UTF-8 text: line breaks in the text become CRLF hard
/// breaks, encoded lines stay within 76 octets using soft breaks (`=` CRLF).
enum QuotedPrintable {
    static func encode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        var lineLength = 0
        let lines = splitLines(Array(text.utf8))
        for (lineIndex, line) in lines.enumerated() {
            if lineIndex > 0 {
                out += [0x0D, 0x0A]
                lineLength = 0
            }
            for (i, byte) in line.enumerated() {
                let isLast = i == line.count - 1
                let literal =
                    (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                    || ((byte == 0x20 || byte == 0x09) && !isLast)
                let token: [UInt8] = literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                // Keep room for the soft-break "=" unless this token ends the line.
                let limit = isLast ? 76 : 75
                if lineLength + token.count > limit {
                    out += [UInt8(ascii: "="), 0x0D, 0x0A]
                    lineLength = 0
                }
                out += token
                lineLength += token.count
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Splits at CRLF, LF or CR.
    static func splitLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D || bytes[i] == 0x0A {
                lines.append(bytes[start..<i])
                if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
                start = i + 1
            }
            i += 1
        }
        lines.append(bytes[start..<bytes.count])
        return lines
    }
}
