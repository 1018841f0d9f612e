/// What the server said about a message it accepted.
///
/// The message was queued for ``acceptedRecipients``; ``rejectedRecipients`` lists the
/// recipients refused at RCPT TO (a partial rejection: the send still succeeds).
public struct SMTPSendResult: Sendable, Equatable {
    /// The recipients the server took.
    public var acceptedRecipients: [String]
    /// The recipients the server refused, with its reply.
    public var rejectedRecipients: [SMTPRecipientRejection]
    /// The server's final reply to the message content (250, often with a queue id).
    public var reply: SMTPReply
    /// The `Message-ID` header value sent (with angle brackets), when known.
    public var messageID: String?

    public init(
        acceptedRecipients: [String],
        rejectedRecipients: [SMTPRecipientRejection],
        reply: SMTPReply,
        messageID: String? = nil
    ) {
        self.acceptedRecipients = acceptedRecipients
        self.rejectedRecipients = rejectedRecipients
        self.reply = reply
        self.messageID = messageID
    }
}
