#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// An e-mail to send: a plain-text body and, usually, an HTML alternative.
///
/// Rendered by ``MIMERenderer`` as `multipart/alternative` (or a single `text/plain` part when
/// ``html`` is nil), UTF-8, with RFC 2047 encoded subject and names. Header values are checked
/// at render time: a CR or LF anywhere in them is an ``SMTPError/Code/invalidMessage`` error.
public struct MailMessage: Sendable {
    /// The sender; `nil` uses ``SMTPConfiguration/from``.
    public var from: MailAddress?
    /// The recipients, at least one.
    public var to: [MailAddress]
    public var replyTo: MailAddress?
    public var subject: String
    /// The plain-text body (any line ending).
    public var text: String
    /// The HTML body, or `nil` for a text-only message.
    public var html: String?
    /// How the bodies are encoded.
    public var transferEncoding: MIMETransferEncoding
    /// The `Date` header; `nil` means the time of sending.
    public var date: Date?
    /// The `Message-ID` without angle brackets; `nil` generates a random one at the sender's domain.
    public var messageID: String?

    public init(
        from: MailAddress? = nil,
        to: [MailAddress],
        replyTo: MailAddress? = nil,
        subject: String,
        text: String,
        html: String? = nil,
        transferEncoding: MIMETransferEncoding = .quotedPrintable,
        date: Date? = nil,
        messageID: String? = nil
    ) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.transferEncoding = transferEncoding
        self.date = date
        self.messageID = messageID
    }
}

/// The Content-Transfer-Encoding of the text parts; both keep every line within 76 octets.
public enum MIMETransferEncoding: String, Sendable, Hashable {
    /// Readable when the text is mostly ASCII (links stay visible).
    case quotedPrintable = "quoted-printable"
    case base64
}
