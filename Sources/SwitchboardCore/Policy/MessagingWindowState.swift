/// The window state the UI shows for a conversation (invariant 7): `open` for 24 hours
/// after the customer's last message, `human_agent` until 7 days, then `closed`.
public struct MessagingWindowState: Sendable, Equatable {
    public static let standardWindowMs: Int64 = 24 * 3_600_000
    public static let humanAgentWindowMs: Int64 = 7 * 24 * 3_600_000

    public var state: String
    /// When the current state ends (ms since 1970); nil when closed.
    public var closesAt: Int64?

    public init(lastInboundAt: Int64?, now: Int64) {
        guard let last = lastInboundAt else {
            state = "closed"
            closesAt = nil
            return
        }
        if now < last + Self.standardWindowMs {
            state = "open"
            closesAt = last + Self.standardWindowMs
        } else if now < last + Self.humanAgentWindowMs {
            state = "human_agent"
            closesAt = last + Self.humanAgentWindowMs
        } else {
            state = "closed"
            closesAt = nil
        }
    }
}
