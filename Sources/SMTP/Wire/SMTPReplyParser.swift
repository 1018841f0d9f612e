internal import NIOCore

/// Incremental, bounded parser of SMTP replies: feed bytes as they arrive, take replies
/// out one at a time; `nil` means "need more bytes". Accepts CRLF and, leniently, bare LF.
struct SMTPReplyParser {
    /// Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512; servers send more).
    static let maximumLineLength = 4096
    /// Most lines in one multi-line reply (an EHLO reply has a dozen).
    static let maximumLineCount = 128

    private var buffer = ByteBuffer()
    private var pendingCode: Int?
    private var pendingLines: [String] = []

    init() {}

    /// Adds received bytes.
    mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// Bytes received but not yet part of a returned reply. After the 220 to STARTTLS this
    /// must be false: anything already buffered arrived in clear text and would otherwise
    /// be treated as if it came over TLS (the STARTTLS injection attack).
    var hasBufferedBytes: Bool { buffer.readableBytes > 0 || pendingCode != nil }

    /// The next complete reply, or `nil` if more bytes are needed.
    mutating func next() throws(SMTPError) -> SMTPReply? {
        while true {
            let view = buffer.readableBytesView
            guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
                if buffer.readableBytes > Self.maximumLineLength {
                    throw violation("reply line longer than \(Self.maximumLineLength) bytes")
                }
                return nil
            }
            var line = view[view.startIndex..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard line.count <= Self.maximumLineLength else {
                throw violation("reply line longer than \(Self.maximumLineLength) bytes")
            }
            let (code, isLast, text) = try Self.parseLine(line)
            buffer.moveReaderIndex(forwardBy: newline - view.startIndex + 1)
            buffer.discardReadBytes()

            if let pending = pendingCode, pending != code {
                throw violation("multi-line reply changed its code from \(pending) to \(code)")
            }
            pendingCode = code
            pendingLines.append(text)
            if pendingLines.count > Self.maximumLineCount {
                throw violation("reply has more than \(Self.maximumLineCount) lines")
            }
            if isLast {
                let reply = SMTPReply(code: code, lines: pendingLines)
                pendingCode = nil
                pendingLines = []
                return reply
            }
        }
    }

    private static func parseLine(_ line: ByteBufferView.SubSequence) throws(SMTPError) -> (Int, Bool, String) {
        let bytes = Array(line)
        guard bytes.count >= 3,
            (UInt8(ascii: "2")...UInt8(ascii: "5")).contains(bytes[0]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[1]),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[2])
        else {
            throw SMTPParseFailure.violation("malformed reply line \(Self.printable(bytes))")
        }
        let code = bytes[0...2].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        if bytes.count == 3 { return (code, true, "") }
        switch bytes[3] {
        case UInt8(ascii: " "): return (code, true, String(decoding: bytes[4...], as: UTF8.self))
        case UInt8(ascii: "-"): return (code, false, String(decoding: bytes[4...], as: UTF8.self))
        default: throw SMTPParseFailure.violation("malformed reply line \(Self.printable(bytes))")
        }
    }

    private static func printable(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(80).map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "?" }
        return "\"" + String(shown) + (bytes.count > 80 ? "…" : "") + "\""
    }

    private func violation(_ message: String) -> SMTPError {
        SMTPParseFailure.violation(message)
    }
}

enum SMTPParseFailure {
    static func violation(_ message: String) -> SMTPError {
        SMTPError(code: .protocolViolation, message: message)
    }
}
