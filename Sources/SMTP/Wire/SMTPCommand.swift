internal import NIOCore

/// The commands the client sends, and their wire form.
enum SMTPCommand: Equatable, Sendable {
    case ehlo(String)
    case helo(String)
    case startTLS
    /// `AUTH PLAIN` with its initial response (base64 of `\0user\0password`).
    case authPlain(initialResponse: SMTPSecret)
    case authLogin
    /// A base64 line answering a 334 challenge.
    case authResponse(SMTPSecret)
    case mailFrom(String)
    case recipient(String)
    case data
    case quit

    /// Writes the command and its CRLF.
    func write(into buffer: inout ByteBuffer) {
        buffer.writeString(line)
        buffer.writeString("\r\n")
    }

    private var line: String {
        switch self {
        case .ehlo(let domain): "EHLO \(domain)"
        case .helo(let domain): "HELO \(domain)"
        case .startTLS: "STARTTLS"
        case .authPlain(let response): "AUTH PLAIN \(response.value)"
        case .authLogin: "AUTH LOGIN"
        case .authResponse(let response): response.value
        case .mailFrom(let address): "MAIL FROM:<\(address)>"
        case .recipient(let address): "RCPT TO:<\(address)>"
        case .data: "DATA"
        case .quit: "QUIT"
        }
    }

    /// The command as it may appear in a log: credentials replaced by `<redacted>`.
    var logDescription: String {
        switch self {
        case .authPlain: "AUTH PLAIN <redacted>"
        case .authResponse: "<redacted>"
        default: line
        }
    }

    /// The step this command belongs to, for errors and timeouts.
    var step: SMTPStep {
        switch self {
        case .ehlo: .ehlo
        case .helo: .helo
        case .startTLS: .startTLS
        case .authPlain, .authLogin, .authResponse: .authentication
        case .mailFrom: .mailFrom
        case .recipient: .recipient
        case .data: .data
        case .quit: .quit
        }
    }
}
