import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import SMTP

/// Against a real aiosmtpd (scripts/lib/smtp.sh): every transport security mode, both AUTH
/// mechanisms, the typed failures, and the message as a real parser reads it back.
@Suite(.enabled(if: SMTPSink.shouldRun, "needs TEST_SMTP_* (sb_start_smtp)"))
struct SMTPIntegrationTests {
    static let subject = "Connexion à Switchboard — votre lien 🔑"

    static func message(to recipients: [String], token: String) throws -> MailMessage {
        MailMessage(
            to: try recipients.map { try MailAddress($0, displayName: "Zoë Test") },
            subject: "\(subject) \(token)",
            text:
                "Hello,\n.this line starts with a dot\n..and this one with two\nbare LF above, CRLF next\r\nSign in: https://sb.test/auth/callback?token=\(token)&x=1\n",
            html: "<p>Hello,</p>\n.<p>dot line</p>\n<a href=\"https://sb.test/auth/callback?token=\(token)\">Sign in</a>"
        )
    }

    static func token() -> String { String(UInt64.random(in: .min ... .max), radix: 36) }

    /// Sends, reads the stored message back and checks what every mode must preserve.
    static func sendAndVerify(_ configuration: SMTPConfiguration, server: String, recipients extra: [String] = []) async throws {
        let sink = try SMTPSink.require()
        let token = token()
        let recipient = "ada+\(token)@example.test"
        let client = try SMTPClient(configuration: configuration)
        let result = try await client.send(try message(to: [recipient] + extra, token: token))
        #expect(result.acceptedRecipients == [recipient] + extra)
        #expect(result.reply.code == 250)

        let received = try await sink.received(for: recipient)
        #expect(received.server == server)
        #expect(received.mailFrom == "noreply@switchboard.test")
        #expect(received.rcptTos == [recipient] + extra)
        #expect(received.subject == "\(subject) \(token)")
        #expect((received.headers["From"] as? String) == "Switchboard Tëst <noreply@switchboard.test>")
        #expect((received.headers["To"] as? String)?.contains("Zoë Test <\(recipient)>") == true)
        #expect((received.headers["Message-ID"] as? String) == result.messageID)
        #expect(received.headers["Date"] as? String != nil)
        #expect((received.headers["MIME-Version"] as? String) == "1.0")
        #expect(received.contentTypes == ["multipart/alternative", "text/plain", "text/html"])
        #expect(received.text?.contains("Hello,\n.this line starts with a dot\n..and this one with two\nbare LF above") == true)
        #expect(received.text?.contains("https://sb.test/auth/callback?token=\(token)&x=1") == true)
        #expect(received.html?.contains("\n.<p>dot line</p>\n") == true)
        #expect(received.html?.contains("token=\(token)\"") == true)
        #expect(received.defects == [])
        #expect(received.linesOver998 == [])
        #expect(received.raw.contains("\r\n.this line starts with a dot\r\n"), "dot-unstuffed by the server")
    }

    @Test func startTLSWithAuthPlain() async throws {
        let sink = try SMTPSink.require()
        try await Self.sendAndVerify(sink.configuration(port: sink.startTLSPort, tls: .startTLS, mechanisms: [.plain]), server: "starttls")
    }

    @Test func startTLSWithAuthLogin() async throws {
        let sink = try SMTPSink.require()
        try await Self.sendAndVerify(sink.configuration(port: sink.startTLSPort, tls: .startTLS, mechanisms: [.login]), server: "starttls")
    }

    @Test func implicitTLSWithAuth() async throws {
        let sink = try SMTPSink.require()
        try await Self.sendAndVerify(sink.configuration(port: sink.tlsPort, tls: .implicitTLS), server: "tls")
    }

    @Test func certificateVerifiedByHostName() async throws {
        let sink = try SMTPSink.require()
        var config = try sink.configuration(port: sink.tlsPort, tls: .implicitTLS)
        config.host = "localhost"  // SNI + DNS name check instead of the IP address SAN
        try await Self.sendAndVerify(config, server: "tls")
    }

    @Test func plainLocalRelayWithSeveralRecipients() async throws {
        let sink = try SMTPSink.require()
        try await Self.sendAndVerify(
            sink.configuration(port: sink.plainPort, tls: .none, authenticate: false),
            server: "plain",
            recipients: ["bob@example.test", "carol@example.test"]
        )
    }

    @Test func configurationFromTheEnvironmentVariables() async throws {
        let sink = try SMTPSink.require()
        var config = try SMTPConfiguration(environment: [
            "EMAIL_SERVER_HOST": sink.host, "EMAIL_SERVER_PORT": "\(sink.startTLSPort)", "EMAIL_SERVER_TLS": "starttls",
            "EMAIL_SERVER_USER": sink.user, "EMAIL_SERVER_PASSWORD": sink.password,
            "EMAIL_SERVER_CA_FILE": sink.ca, "EMAIL_FROM": "Switchboard Tëst <noreply@switchboard.test>",
        ])
        config.timeouts = .init(connect: .seconds(5), greeting: .seconds(10), command: .seconds(10))
        try await Self.sendAndVerify(config, server: "starttls")
    }

    @Test(arguments: [SMTPConfiguration.TLSMode.startTLS, .implicitTLS])
    func wrongPasswordIsATypedAuthError(mode: SMTPConfiguration.TLSMode) async throws {
        let sink = try SMTPSink.require()
        let port = mode == .startTLS ? sink.startTLSPort : sink.tlsPort
        let client = try SMTPClient(configuration: sink.configuration(port: port, tls: mode, password: "wrong"))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(Self.message(to: ["x@example.test"], token: "t"))
        }
        #expect(error?.code == .authenticationRejected)
        #expect(error?.reply?.code == 535)
        #expect(error?.step == .authentication)
        #expect(error.map { !"\($0)".contains(sink.password) && !"\($0)".contains("wrong") } ?? false)
    }

    @Test(arguments: [SMTPConfiguration.TLSMode.startTLS, .implicitTLS])
    func certificateFromAnotherCAIsATLSError(mode: SMTPConfiguration.TLSMode) async throws {
        let sink = try SMTPSink.require()
        let port = mode == .startTLS ? sink.startTLSPort : sink.tlsPort
        let client = try SMTPClient(configuration: sink.configuration(port: port, tls: mode, ca: sink.otherCA))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(Self.message(to: ["x@example.test"], token: "t"))
        }
        #expect(error?.code == .tlsHandshakeFailed)
    }

    @Test func startTLSRequiredButNotOffered() async throws {
        let sink = try SMTPSink.require()
        let client = try SMTPClient(configuration: sink.configuration(port: sink.plainPort, tls: .startTLS, authenticate: false))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(Self.message(to: ["x@example.test"], token: "t"))
        }
        #expect(error?.code == .startTLSUnavailable)
    }

    @Test func credentialsAreNeverSentInClearText() async throws {
        let sink = try SMTPSink.require()
        let client = try SMTPClient(configuration: sink.configuration(port: sink.plainPort, tls: .none))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(Self.message(to: ["x@example.test"], token: "t"))
        }
        #expect(error?.code == .insecureAuthenticationRefused)
    }

    @Test func authRequiredByTheServer() async throws {
        let sink = try SMTPSink.require()
        let client = try SMTPClient(configuration: sink.configuration(port: sink.startTLSPort, tls: .startTLS, authenticate: false))
        let error = await #expect(throws: SMTPError.self) {
            try await client.send(Self.message(to: ["x@example.test"], token: "t"))
        }
        #expect(error?.code == .senderRejected)
        #expect(error?.reply?.code == 530)
    }
}

/// Real sockets, no sink: failures before any SMTP is spoken.
@Suite struct SMTPTransportFailureTests {
    static func configuration(port: Int, greeting: Duration = .seconds(10)) throws -> SMTPConfiguration {
        SMTPConfiguration(
            host: "127.0.0.1",
            port: port,
            tlsMode: SMTPConfiguration.TLSMode.none,
            from: try MailAddress("noreply@switchboard.test"),
            timeouts: .init(connect: .seconds(5), greeting: greeting)
        )
    }

    static let message = MailMessage(to: [try! MailAddress("x@example.test")], subject: "s", text: "t")

    @Test func connectionRefused() async throws {
        // Bind a port, close it, then connect: nothing listens there.
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        let client = try SMTPClient(configuration: Self.configuration(port: port))
        let error = await #expect(throws: SMTPError.self) { try await client.send(Self.message) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.step == .connect)
    }

    @Test func silentServerTimesOutWaitingForTheGreeting() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let client = try SMTPClient(configuration: Self.configuration(port: server.localAddress!.port!, greeting: .milliseconds(200)))
        let error = await #expect(throws: SMTPError.self) { try await client.send(Self.message) }
        #expect(error?.code == .timeout)
        #expect(error?.step == .greeting)
    }

    @Test func badCAFileFailsAtConstruction() throws {
        var config = try Self.configuration(port: 587)
        config.tlsMode = .startTLS
        config.trustRoots = .pemFile("/nonexistent/ca.pem")
        let error = #expect(throws: SMTPError.self) { try SMTPClient(configuration: config) }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func cancellationClosesTheConnection() async throws {
        // The server accepts and stays silent; it reports each accepted connection.
        let (accepted, acceptedContinuation) = AsyncStream.makeStream(of: (any Channel).self)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                acceptedContinuation.yield(child)
                return child.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let client = try SMTPClient(configuration: Self.configuration(port: server.localAddress!.port!, greeting: .seconds(60)))
        let task = Task { try await client.send(Self.message) }
        var iterator = accepted.makeAsyncIterator()
        let child = try #require(await iterator.next())
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The server side sees the connection end (no 60 s greeting wait).
        try await child.closeFuture.get()
    }

}
