/// The GET handshake Meta makes when the webhook is configured (messenger-platform.md §1):
/// `?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<token>` must be answered 200
/// with the raw challenge, anything else 403.
public enum WebhookVerification {
    /// The body to answer with 200, or nil for 403. Compares the token in constant time.
    /// Pass the literal `hub.mode`, `hub.verify_token` and `hub.challenge` query values.
    public static func challengeResponse(
        mode: String?,
        verifyToken: String?,
        challenge: String?,
        expectedToken: String
    ) -> String? {
        guard mode == "subscribe", let verifyToken, let challenge, !challenge.isEmpty else { return nil }
        return constantTimeEquals(Array(verifyToken.utf8), Array(expectedToken.utf8)) ? challenge : nil
    }
}
