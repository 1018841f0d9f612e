import Testing

@testable import SMTP

/// Drives the session machine event by event, no sockets, no clock.
@Suite struct SMTPStateMachineTests {
    typealias Action = SMTPStateMachine.Action

    static let credentials = SMTPConfiguration.Credentials(username: "mailer", password: SMTPSecret("pw123"))
    // base64("\0mailer\0pw123")
    static let plainResponse = "AG1haWxlcgBwdzEyMw=="

    static func machine(
        tls: SMTPStateMachine.TLSPolicy = .none,
        credentials: SMTPConfiguration.Credentials? = nil,
        allowPlaintext: Bool = false,
        mechanisms: [SMTPAuthenticationMechanism] = [.plain, .login],
        recipients: [String] = ["ada@example.com"]
    ) -> SMTPStateMachine {
        SMTPStateMachine(
            settings: .init(
                localHostname: "client.test",
                tls: tls,
                credentials: credentials,
                allowPlaintextAuthentication: allowPlaintext,
                authenticationMechanisms: mechanisms
            ),
            envelope: .init(sender: "noreply@switchboard.test", recipients: recipients, messageID: "<id@switchboard.test>")
        )
    }

    static func reply(_ code: Int, _ lines: String...) -> SMTPReply { SMTPReply(code: code, lines: lines) }

    static let ehloOK = reply(250, "mx.test", "PIPELINING", "SIZE 1000", "ENHANCEDSTATUSCODES")
    static let ehloStartTLS = reply(250, "mx.test", "STARTTLS", "SIZE 1000")
    static let ehloAuth = reply(250, "mx.test", "AUTH LOGIN PLAIN", "ENHANCEDSTATUSCODES")

    /// Runs greeting → EHLO with the given EHLO reply and returns the action after it.
    static func afterEHLO(_ m: inout SMTPStateMachine, _ ehlo: SMTPReply) -> Action {
        #expect(m.replyReceived(reply(220, "mx.test ESMTP")) == .send(.ehlo("client.test")))
        return m.replyReceived(ehlo)
    }

    /// The common tail: MAIL → RCPT → DATA → content → QUIT → close → complete.
    static func finishTransaction(_ m: inout SMTPStateMachine) -> SMTPSendResult? {
        #expect(m.replyReceived(reply(250, "2.1.0 OK")) == .send(.recipient("ada@example.com")))
        #expect(m.replyReceived(reply(250, "2.1.5 OK")) == .send(.data))
        #expect(m.replyReceived(reply(354, "go ahead")) == .sendMessage)
        #expect(m.step == .messageBody)
        let final = reply(250, "2.0.0 queued as 123")
        #expect(m.replyReceived(final) == .send(.quit))
        #expect(m.replyReceived(reply(221, "bye")) == .close)
        guard case .complete(.success(let result)) = m.channelInactive() else {
            Issue.record("expected success")
            return nil
        }
        #expect(result.reply == final)
        #expect(result.messageID == "<id@switchboard.test>")
        return result
    }

    static func failure(_ action: Action) -> SMTPError? {
        if case .complete(.failure(let error)) = action { return error }
        Issue.record("expected a failure, got \(action)")
        return nil
    }

    // MARK: Happy paths

    @Test func plainRelayWithoutAuth() {
        var m = Self.machine()
        #expect(Self.afterEHLO(&m, Self.ehloOK) == .send(.mailFrom("noreply@switchboard.test")))
        let result = Self.finishTransaction(&m)
        #expect(result?.acceptedRecipients == ["ada@example.com"])
        #expect(result?.rejectedRecipients == [])
        #expect(m.channelInactive() == .none)
    }

    @Test func startTLSThenAuthPlain() {
        var m = Self.machine(tls: .startTLS, credentials: Self.credentials)
        #expect(Self.afterEHLO(&m, Self.ehloStartTLS) == .send(.startTLS))
        #expect(m.replyReceived(Self.reply(220, "2.0.0 Ready to start TLS")) == .startTLS)
        #expect(m.step == .tlsHandshake)
        #expect(m.tlsHandshakeCompleted() == .send(.ehlo("client.test")))
        #expect(m.replyReceived(Self.ehloAuth) == .send(.authPlain(initialResponse: SMTPSecret(Self.plainResponse))))
        #expect(m.replyReceived(Self.reply(235, "2.7.0 Authentication successful")) == .send(.mailFrom("noreply@switchboard.test")))
        #expect(Self.finishTransaction(&m) != nil)
    }

    @Test func startTLSThenAuthLoginWhenOnlyLoginOffered() {
        var m = Self.machine(tls: .startTLS, credentials: Self.credentials)
        #expect(Self.afterEHLO(&m, Self.ehloStartTLS) == .send(.startTLS))
        #expect(m.replyReceived(Self.reply(220, "go")) == .startTLS)
        #expect(m.tlsHandshakeCompleted() == .send(.ehlo("client.test")))
        #expect(m.replyReceived(Self.reply(250, "mx.test", "AUTH=LOGIN")) == .send(.authLogin))
        #expect(m.replyReceived(Self.reply(334, "VXNlcm5hbWU6")) == .send(.authResponse(SMTPSecret("bWFpbGVy"))))
        #expect(m.replyReceived(Self.reply(334, "UGFzc3dvcmQ6")) == .send(.authResponse(SMTPSecret("cHcxMjM="))))
        #expect(m.replyReceived(Self.reply(235, "ok")) == .send(.mailFrom("noreply@switchboard.test")))
        #expect(Self.finishTransaction(&m) != nil)
    }

    @Test func mechanismPreferenceFollowsConfiguration() {
        var m = Self.machine(tls: .implicit, credentials: Self.credentials, mechanisms: [.login, .plain])
        #expect(Self.afterEHLO(&m, Self.ehloAuth) == .send(.authLogin))
    }

    @Test func implicitTLSIgnoresHandshakeEventAndAuthenticates() {
        var m = Self.machine(tls: .implicit, credentials: Self.credentials)
        #expect(m.tlsHandshakeCompleted() == .none)
        #expect(Self.afterEHLO(&m, Self.ehloAuth) == .send(.authPlain(initialResponse: SMTPSecret(Self.plainResponse))))
    }

    @Test func ehloPermanentFailureFallsBackToHelo() {
        var m = Self.machine()
        #expect(Self.afterEHLO(&m, Self.reply(502, "5.5.1 command not implemented")) == .send(.helo("client.test")))
        #expect(m.replyReceived(Self.reply(250, "hello")) == .send(.mailFrom("noreply@switchboard.test")))
        #expect(Self.finishTransaction(&m) != nil)
    }

    @Test func partialRecipientRejectionIsReportedInTheResult() {
        var m = Self.machine(recipients: ["a@x.test", "b@x.test", "c@x.test"])
        #expect(Self.afterEHLO(&m, Self.ehloOK) == .send(.mailFrom("noreply@switchboard.test")))
        #expect(m.replyReceived(Self.reply(250, "ok")) == .send(.recipient("a@x.test")))
        #expect(m.replyReceived(Self.reply(250, "ok")) == .send(.recipient("b@x.test")))
        let refusal = Self.reply(550, "5.1.1 no such user")
        #expect(m.replyReceived(refusal) == .send(.recipient("c@x.test")))
        #expect(m.replyReceived(Self.reply(251, "will forward")) == .send(.data))
        #expect(m.replyReceived(Self.reply(354, "go")) == .sendMessage)
        #expect(m.replyReceived(Self.reply(250, "ok")) == .send(.quit))
        #expect(m.replyReceived(Self.reply(221, "bye")) == .close)
        guard case .complete(.success(let result)) = m.channelInactive() else {
            Issue.record("expected success")
            return
        }
        #expect(result.acceptedRecipients == ["a@x.test", "c@x.test"])
        #expect(result.rejectedRecipients == [SMTPRecipientRejection(recipient: "b@x.test", reply: refusal)])
        #expect(result.rejectedRecipients.first?.reply.enhancedStatus?.description == "5.1.1")
    }

    @Test func quitReplyMissingStillSucceedsOnClose() {
        var m = Self.machine()
        _ = Self.afterEHLO(&m, Self.ehloOK)
        _ = m.replyReceived(Self.reply(250, "ok"))
        _ = m.replyReceived(Self.reply(250, "ok"))
        _ = m.replyReceived(Self.reply(354, "go"))
        #expect(m.replyReceived(Self.reply(250, "ok")) == .send(.quit))
        #expect(m.timeoutFired() == .close)
        guard case .complete(.success) = m.channelInactive() else {
            Issue.record("expected success")
            return
        }
    }

    // MARK: Error paths

    /// A refusal at `step` ends with QUIT, then close, then the typed error.
    static func expectRefusal(
        _ m: inout SMTPStateMachine,
        _ refusal: SMTPReply,
        code: SMTPError.Code,
        step: SMTPStep,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(m.replyReceived(refusal) == .send(.quit), sourceLocation: sourceLocation)
        #expect(m.isFinishing, sourceLocation: sourceLocation)
        #expect(m.replyReceived(Self.reply(221, "bye")) == .close, sourceLocation: sourceLocation)
        let error = Self.failure(m.channelInactive())
        #expect(error?.code == code, sourceLocation: sourceLocation)
        #expect(error?.step == step, sourceLocation: sourceLocation)
        #expect(error?.reply == refusal, sourceLocation: sourceLocation)
    }

    @Test func greetingRejected() {
        var m = Self.machine()
        Self.expectRefusal(&m, Self.reply(554, "5.3.2 no service"), code: .greetingRejected, step: .greeting)
    }

    @Test func ehloAndHeloRejected() {
        var m = Self.machine()
        #expect(Self.afterEHLO(&m, Self.reply(500, "what")) == .send(.helo("client.test")))
        Self.expectRefusal(&m, Self.reply(501, "no"), code: .helloRejected, step: .helo)
    }

    @Test func ehloTransientFailureDoesNotFallBack() {
        var m = Self.machine()
        #expect(m.replyReceived(Self.reply(220, "hi")) == .send(.ehlo("client.test")))
        Self.expectRefusal(&m, Self.reply(451, "4.3.0 try later"), code: .helloRejected, step: .ehlo)
    }

    @Test func serviceClosing421ClosesWithoutQuit() {
        var m = Self.machine()
        #expect(m.replyReceived(Self.reply(220, "hi")) == .send(.ehlo("client.test")))
        #expect(m.replyReceived(Self.reply(421, "4.3.2 shutting down")) == .close)
        #expect(Self.failure(m.channelInactive())?.code == .helloRejected)
    }

    @Test func startTLSRequiredButNotOffered() {
        var m = Self.machine(tls: .startTLS, credentials: Self.credentials)
        #expect(Self.afterEHLO(&m, Self.ehloAuth) == .send(.quit))
        #expect(m.replyReceived(Self.reply(221, "bye")) == .close)
        let error = Self.failure(m.channelInactive())
        #expect(error?.code == .startTLSUnavailable)
        #expect(error?.step == .ehlo)
    }

    @Test func startTLSRequiredAfterHeloFallback() {
        var m = Self.machine(tls: .startTLS)
        #expect(Self.afterEHLO(&m, Self.reply(502, "no")) == .send(.helo("client.test")))
        #expect(m.replyReceived(Self.reply(250, "hi")) == .send(.quit))
        _ = m.replyReceived(Self.reply(221, "bye"))
        #expect(Self.failure(m.channelInactive())?.code == .startTLSUnavailable)
    }

    @Test func startTLSRefused() {
        var m = Self.machine(tls: .startTLS)
        #expect(Self.afterEHLO(&m, Self.ehloStartTLS) == .send(.startTLS))
        Self.expectRefusal(&m, Self.reply(454, "4.7.0 TLS not available"), code: .startTLSRejected, step: .startTLS)
    }

    @Test func replyDuringTLSHandshakeIsAViolation() {
        var m = Self.machine(tls: .startTLS)
        _ = Self.afterEHLO(&m, Self.ehloStartTLS)
        #expect(m.replyReceived(Self.reply(220, "go")) == .startTLS)
        #expect(m.replyReceived(Self.reply(250, "injected")) == .close)
        #expect(Self.failure(m.channelInactive())?.code == .protocolViolation)
    }

    @Test func tlsHandshakeFailure() {
        var m = Self.machine(tls: .startTLS)
        _ = Self.afterEHLO(&m, Self.ehloStartTLS)
        _ = m.replyReceived(Self.reply(220, "go"))
        let tlsError = SMTPError(code: .tlsHandshakeFailed, message: "bad certificate")
        #expect(m.errorCaught(tlsError) == .close)
        #expect(m.errorCaught(SMTPError(code: .connectionClosed, message: "later error")) == .none)
        let error = Self.failure(m.channelInactive())
        #expect(error?.code == .tlsHandshakeFailed)
        #expect(error?.step == .tlsHandshake)
    }

    @Test func authOverPlainTextIsRefusedByDefault() {
        var m = Self.machine(tls: .none, credentials: Self.credentials)
        #expect(Self.afterEHLO(&m, Self.ehloAuth) == .send(.quit))
        _ = m.replyReceived(Self.reply(221, "bye"))
        #expect(Self.failure(m.channelInactive())?.code == .insecureAuthenticationRefused)
    }

    @Test func authOverPlainTextWhenExplicitlyAllowed() {
        var m = Self.machine(tls: .none, credentials: Self.credentials, allowPlaintext: true)
        #expect(Self.afterEHLO(&m, Self.ehloAuth) == .send(.authPlain(initialResponse: SMTPSecret(Self.plainResponse))))
    }

    @Test func authNotOffered() {
        var m = Self.machine(tls: .implicit, credentials: Self.credentials)
        #expect(Self.afterEHLO(&m, Self.reply(250, "mx.test", "AUTH CRAM-MD5 XOAUTH2")) == .send(.quit))
        _ = m.replyReceived(Self.reply(221, "bye"))
        let error = Self.failure(m.channelInactive())
        #expect(error?.code == .authenticationUnsupported)
        #expect(error?.message.contains("CRAM-MD5") == true)
    }

    @Test func authPlainRejected() {
        var m = Self.machine(tls: .implicit, credentials: Self.credentials)
        _ = Self.afterEHLO(&m, Self.ehloAuth)
        let refusal = Self.reply(535, "5.7.8 Authentication credentials invalid")
        Self.expectRefusal(&m, refusal, code: .authenticationRejected, step: .authentication)
        #expect(refusal.enhancedStatus == SMTPEnhancedStatusCode(statusClass: 5, subject: 7, detail: 8))
    }

    @Test func authLoginRejectedAtEachStage() {
        for stage in 0..<3 {
            var m = Self.machine(tls: .implicit, credentials: Self.credentials, mechanisms: [.login])
            #expect(Self.afterEHLO(&m, Self.ehloAuth) == .send(.authLogin))
            for _ in 0..<stage { _ = m.replyReceived(Self.reply(334, "challenge")) }
            Self.expectRefusal(&m, Self.reply(535, "5.7.8 no"), code: .authenticationRejected, step: .authentication)
        }
    }

    @Test func unexpectedExtraChallengeIsAViolation() {
        var m = Self.machine(tls: .implicit, credentials: Self.credentials)
        _ = Self.afterEHLO(&m, Self.ehloAuth)
        #expect(m.replyReceived(Self.reply(334, "")) == .send(.quit))
        _ = m.replyReceived(Self.reply(221, "bye"))
        #expect(Self.failure(m.channelInactive())?.code == .protocolViolation)
    }

    @Test func senderRejected() {
        var m = Self.machine()
        _ = Self.afterEHLO(&m, Self.ehloOK)
        Self.expectRefusal(&m, Self.reply(553, "5.7.1 sender not allowed"), code: .senderRejected, step: .mailFrom)
    }

    @Test func allRecipientsRejected() {
        var m = Self.machine(recipients: ["a@x.test", "b@x.test"])
        _ = Self.afterEHLO(&m, Self.ehloOK)
        _ = m.replyReceived(Self.reply(250, "ok"))
        #expect(m.replyReceived(Self.reply(550, "5.1.1 unknown a")) == .send(.recipient("b@x.test")))
        #expect(m.replyReceived(Self.reply(450, "4.2.1 try later b")) == .send(.quit))
        _ = m.replyReceived(Self.reply(221, "bye"))
        let error = Self.failure(m.channelInactive())
        #expect(error?.code == .recipientsRejected)
        #expect(error?.rejectedRecipients.map(\.recipient) == ["a@x.test", "b@x.test"])
        #expect(error?.rejectedRecipients.map(\.reply.code) == [550, 450])
    }

    @Test func dataRejected() {
        var m = Self.machine()
        _ = Self.afterEHLO(&m, Self.ehloOK)
        _ = m.replyReceived(Self.reply(250, "ok"))
        _ = m.replyReceived(Self.reply(250, "ok"))
        Self.expectRefusal(&m, Self.reply(554, "5.5.1 no valid recipients"), code: .dataRejected, step: .data)
    }

    @Test func messageRejected() {
        var m = Self.machine()
        _ = Self.afterEHLO(&m, Self.ehloOK)
        _ = m.replyReceived(Self.reply(250, "ok"))
        _ = m.replyReceived(Self.reply(250, "ok"))
        _ = m.replyReceived(Self.reply(354, "go"))
        Self.expectRefusal(&m, Self.reply(552, "5.3.4 message too big"), code: .messageRejected, step: .messageBody)
    }

    @Test(arguments: 0...5)
    func timeoutAtEachStepClosesWithTypedError(repliesBefore: Int) {
        let replies = [Self.reply(220, "hi"), Self.ehloOK, Self.reply(250, "ok"), Self.reply(250, "ok"), Self.reply(354, "go")]
        let steps: [SMTPStep] = [.greeting, .ehlo, .mailFrom, .recipient, .data, .messageBody]
        var m = Self.machine()
        for reply in replies.prefix(repliesBefore) { _ = m.replyReceived(reply) }
        #expect(m.timeoutFired() == .close)
        let error = Self.failure(m.channelInactive())
        #expect(error?.code == .timeout)
        #expect(error?.step == steps[repliesBefore])
    }

    @Test func tlsHandshakeTimeout() {
        var m = Self.machine(tls: .startTLS)
        _ = Self.afterEHLO(&m, Self.ehloStartTLS)
        _ = m.replyReceived(Self.reply(220, "go"))
        #expect(m.timeoutFired() == .close)
        #expect(Self.failure(m.channelInactive())?.step == .tlsHandshake)
    }

    @Test func connectionClosedByServerMidSession() {
        var m = Self.machine()
        _ = Self.afterEHLO(&m, Self.ehloOK)
        let error = Self.failure(m.channelInactive())
        #expect(error?.code == .connectionClosed)
        #expect(error?.step == .mailFrom)
        #expect(m.channelInactive() == .none)
        #expect(m.replyReceived(Self.reply(250, "late")) == .none)
    }

    @Test func errorWhileQuittingKeepsTheOutcome() {
        var m = Self.machine()
        _ = Self.afterEHLO(&m, Self.ehloOK)
        _ = m.replyReceived(Self.reply(250, "ok"))
        _ = m.replyReceived(Self.reply(250, "ok"))
        _ = m.replyReceived(Self.reply(354, "go"))
        _ = m.replyReceived(Self.reply(250, "ok"))
        #expect(m.errorCaught(SMTPError(code: .connectionClosed, message: "reset")) == .close)
        guard case .complete(.success) = m.channelInactive() else {
            Issue.record("the accepted message must still count as sent")
            return
        }
    }
}
