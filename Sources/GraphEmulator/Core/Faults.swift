/// A fault the next matching Send API calls suffer. Set with `GraphEmulator.inject(_:)` or
/// `POST /_emulator/faults`.
public struct Fault: Sendable, Hashable {
    /// What goes wrong.
    public enum Effect: Sendable, Hashable {
        /// Answer this Graph error instead of sending (nothing reaches the customer).
        /// `status` defaults to what Graph uses for the code (500 for 1, 2, 1200; else 400).
        case graphError(code: Int, subcode: Int? = nil, status: Int? = nil, message: String? = nil)
        /// Wait this long, then handle the call normally.
        case latency(Duration)
        /// Deliver the message (the echo is posted), then hold the answer for `hold`
        /// (the configuration's `defaultHold` when nil) so the client times out.
        case timeoutAfterAccepting(hold: Duration? = nil)
        /// Read the request, then close the connection without an answer. With `deliver`,
        /// the message reaches the customer first (the ambiguous case).
        case resetAfterRead(deliver: Bool = false)
    }

    /// Only sends to this Page (nil: any).
    public var pageId: String?
    /// Only sends to this customer (nil: any).
    public var psid: String?
    /// Only the Nth Send API call overall (1-based, counted from emulator start), if set.
    public var nthSend: Int?
    /// How many matching calls suffer it.
    public var count: Int
    /// Also applies to sender actions (off: only messages).
    public var includeSenderActions: Bool
    public var effect: Effect

    public init(
        _ effect: Effect,
        pageId: String? = nil,
        psid: String? = nil,
        nthSend: Int? = nil,
        count: Int = 1,
        includeSenderActions: Bool = false
    ) {
        self.effect = effect
        self.pageId = pageId
        self.psid = psid
        self.nthSend = nthSend
        self.count = count
        self.includeSenderActions = includeSenderActions
    }

    func matches(pageId: String, psid: String?, sendNumber: Int, isSenderAction: Bool) -> Bool {
        if isSenderAction && !includeSenderActions { return false }
        if let wanted = self.pageId, wanted != pageId { return false }
        if let wanted = self.psid, wanted != psid { return false }
        if let nthSend, nthSend != sendNumber { return false }
        return count > 0
    }
}
