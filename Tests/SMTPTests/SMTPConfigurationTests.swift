import Testing

@testable import SMTP

@Suite struct SMTPConfigurationTests {
    static let base = [
        "EMAIL_SERVER_HOST": "smtp.example.com",
        "EMAIL_SERVER_USER": "mailer",
        "EMAIL_SERVER_PASSWORD": "hunter2",
        "EMAIL_FROM": "Switchboard <noreply@example.com>",
    ]

    static func env(_ extra: [String: String]) -> [String: String] {
        base.merging(extra) { $1 }
    }

    @Test(arguments: [("587", SMTPConfiguration.TLSMode.startTLS), ("465", .implicitTLS), ("25", .none), ("2525", .none)])
    func tlsModeFollowsThePort(port: String, mode: SMTPConfiguration.TLSMode) throws {
        let config = try SMTPConfiguration(environment: Self.env(["EMAIL_SERVER_PORT": port]))
        #expect(config.tlsMode == mode)
        #expect(config.port == Int(port))
    }

    @Test func readsEverything() throws {
        let config = try SMTPConfiguration(environment: Self.base)
        #expect(config.host == "smtp.example.com")
        #expect(config.port == 587)
        #expect(config.tlsMode == .startTLS)
        #expect(config.credentials?.username == "mailer")
        #expect(config.credentials?.password == SMTPSecret("hunter2"))
        #expect(config.from == (try MailAddress("noreply@example.com", displayName: "Switchboard")))
        #expect(config.trustRoots == .system)
        #expect(!config.allowPlaintextAuthentication)
    }

    @Test func overrides() throws {
        let config = try SMTPConfiguration(
            environment: Self.env([
                "EMAIL_SERVER_PORT": "2525", "EMAIL_SERVER_TLS": "starttls", "EMAIL_SERVER_CA_FILE": "/tmp/ca.pem",
                "EMAIL_SERVER_ALLOW_PLAINTEXT_AUTH": "1",
            ])
        )
        #expect(config.tlsMode == .startTLS)
        #expect(config.trustRoots == .pemFile("/tmp/ca.pem"))
        #expect(config.allowPlaintextAuthentication)
        #expect(try SMTPConfiguration(environment: Self.env(["EMAIL_SERVER_PORT": "587", "EMAIL_SERVER_TLS": "none"])).tlsMode == .none)
    }

    @Test func noCredentialsForALocalRelay() throws {
        let config = try SMTPConfiguration(environment: [
            "EMAIL_SERVER_HOST": "127.0.0.1", "EMAIL_SERVER_PORT": "25", "EMAIL_SERVER_USER": "", "EMAIL_FROM": "a@b.test",
        ])
        #expect(config.credentials == nil)
        #expect(config.tlsMode == .none)
    }

    @Test(arguments: [
        ["EMAIL_SERVER_HOST": ""], ["EMAIL_FROM": "not an address"], ["EMAIL_SERVER_PORT": "x"],
        ["EMAIL_SERVER_PORT": "70000"], ["EMAIL_SERVER_PASSWORD": ""], ["EMAIL_SERVER_TLS": "maybe"],
        ["EMAIL_FROM": "Evil\r\nBcc: x@y.test <a@b.test>"],
    ])
    func invalidEnvironment(_ extra: [String: String]) {
        let error = #expect(throws: SMTPError.self) { try SMTPConfiguration(environment: Self.env(extra)) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error.map { !"\($0)".contains("hunter2") } ?? true)
    }

    @Test func passwordIsRedactedEverywhere() throws {
        let config = try SMTPConfiguration(environment: Self.base)
        let secret = SMTPSecret("hunter2")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect(!"\(config)".contains("hunter2"))
        #expect(!String(reflecting: config).contains("hunter2"))
        #expect(!"\(config.credentials!)".contains("hunter2"))
        var dumped = ""
        dump(config, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    @Test func errorCodesAreStable() {
        #expect("\(SMTPError.Code.authenticationRejected)" == "smtp.auth_rejected")
        #expect("\(SMTPError.Code.tlsHandshakeFailed)" == "smtp.tls_handshake_failed")
        #expect("\(SMTPError.Code.startTLSUnavailable)" == "smtp.starttls_unavailable")
        #expect("\(SMTPError.Code.recipientsRejected)" == "smtp.recipients_rejected")
        #expect("\(SMTPError.Code.connectionFailed)" == "smtp.connection_failed")
        #expect("\(SMTPError.Code.timeout)" == "smtp.timeout")
    }
}
