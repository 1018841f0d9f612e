/// The synthetic customer of Bot Settings' "Test Webhook": a signed event from this PSID
/// goes through the whole inbound path (HTTP, storage, split, apply) like a real one, but
/// the apply tells nobody: no realtime event, no bot, no profile lookup. The test then
/// removes what it stored, so no fake conversation stays behind. Real PSIDs are numeric,
/// so the prefix never matches a customer.
public enum WebhookProbe {
    public static let psidPrefix = "switchboard-webhook-test-"

    public static func isProbe(psid: String) -> Bool { psid.hasPrefix(psidPrefix) }
}
