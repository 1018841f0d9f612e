@_spi(GraphEmulator) public import Messenger

/// A Facebook Page the emulator hosts.
public struct EmulatedPage: Sendable, Hashable {
    public var id: String
    public var name: String
    public var token: PageAccessToken

    public init(id: String, name: String, token: PageAccessToken) {
        self.id = id
        self.name = name
        self.token = token
    }
}

/// How the receipts of a send are posted. Meta promises neither order nor uniqueness, so
/// tests of idempotent, monotonic status updates (invariant 3) use the odd ones.
public enum ReceiptOrder: String, Sendable, Hashable {
    /// echo, delivery, read.
    case inOrder
    /// echo, read, delivery: a read implies delivered, and the late delivery must not undo it.
    case readBeforeDelivery
    /// Every receipt posted twice.
    case duplicated
}

/// How the emulator behaves. Everything has a default that looks like Meta.
public struct EmulatorConfiguration: Sendable {
    /// Our app's id: echoes of sends made through the emulator carry it as `app_id`.
    public var appId: String
    /// Signs every webhook the emulator posts.
    public var appSecret: AppSecret
    public var pages: [EmulatedPage]
    /// Where webhooks go (Switchboard's `/webhook`); nil keeps them in the outbox log only.
    public var webhookURL: String?
    /// Delay between the send's answer and the echo.
    public var echoDelay: Duration
    /// Delay between the echo and the delivery.
    public var deliveryDelay: Duration
    /// Delay between the delivery and the read (customers that read).
    public var readDelay: Duration
    /// Order of echo, delivery and read; `inOrder` by default.
    public var receiptOrder: ReceiptOrder
    /// Send API calls per second per Page before `X-Business-Use-Case-Usage` hits 100 %
    /// and calls fail with `throttleCode`.
    public var callsPerSecondPerPage: Int
    /// 613 (default) or 32.
    public var throttleCode: Int
    /// `estimated_time_to_regain_access` (minutes) put on throttled answers.
    public var throttleRegainMinutes: Int
    /// How many times a webhook POST is attempted before it is dropped (Meta retries too).
    public var webhookMaxAttempts: Int
    /// First retry delay; doubles each attempt.
    public var webhookRetryBackoff: Duration
    /// How long a "timeout after accepting" fault holds the answer by default.
    public var defaultHold: Duration
    /// How long every Send API call and sender action takes to answer, as Meta's do over
    /// the internet; counted against the Page's rate as it arrives, like Meta (zero by
    /// default: tests want answers at once).
    public var sendLatency: Duration

    public init(
        appId: String = "947561230458812",
        appSecret: AppSecret,
        pages: [EmulatedPage],
        webhookURL: String? = nil,
        echoDelay: Duration = .milliseconds(5),
        deliveryDelay: Duration = .milliseconds(20),
        readDelay: Duration = .milliseconds(40),
        receiptOrder: ReceiptOrder = .inOrder,
        callsPerSecondPerPage: Int = 300,
        throttleCode: Int = 613,
        throttleRegainMinutes: Int = 1,
        webhookMaxAttempts: Int = 5,
        webhookRetryBackoff: Duration = .milliseconds(100),
        defaultHold: Duration = .seconds(30),
        sendLatency: Duration = .zero
    ) {
        self.appId = appId
        self.appSecret = appSecret
        self.pages = pages
        self.webhookURL = webhookURL
        self.echoDelay = echoDelay
        self.deliveryDelay = deliveryDelay
        self.readDelay = readDelay
        self.receiptOrder = receiptOrder
        self.callsPerSecondPerPage = callsPerSecondPerPage
        self.throttleCode = throttleCode
        self.throttleRegainMinutes = throttleRegainMinutes
        self.webhookMaxAttempts = webhookMaxAttempts
        self.webhookRetryBackoff = webhookRetryBackoff
        self.defaultHold = defaultHold
        self.sendLatency = sendLatency
    }

    /// One demo Page, "Switchboard Demo Shop", with a fixed token: what `switchboard
    /// emulator` and demo mode start with.
    public static func demo(appSecret: AppSecret, webhookURL: String? = nil) -> EmulatorConfiguration {
        EmulatorConfiguration(
            appSecret: appSecret,
            pages: [
                EmulatedPage(id: "100000000000001", name: "Switchboard Demo Shop", token: PageAccessToken("EAAemulator-demo-page-token"))
            ],
            webhookURL: webhookURL
        )
    }
}
