/// The SMTP submission session as a value: events in, actions out, no I/O and no clock.
///
/// One machine sends one message: greeting → EHLO (HELO on 5xx) → STARTTLS and EHLO again
/// when required → AUTH when credentials are set → MAIL FROM → RCPT TO for each recipient
/// → DATA → content → QUIT. The channel handler feeds it replies, TLS and channel events and
/// timer expiries, and executes the ``Action`` each returns. The outcome is delivered once,
/// as ``Action/complete(_:)``, when the channel has closed.
struct SMTPStateMachine {
    /// How the session treats transport security.
    enum TLSPolicy: Equatable, Sendable {
        /// No TLS at all (a local relay).
        case none
        /// Upgrade with STARTTLS before anything else; fail if the server does not offer it.
        case startTLS
        /// The connection is TLS from the first byte.
        case implicit
    }

    struct Settings: Equatable, Sendable {
        var localHostname: String
        var tls: TLSPolicy
        var credentials: SMTPConfiguration.Credentials?
        var allowPlaintextAuthentication: Bool
        var authenticationMechanisms: [SMTPAuthenticationMechanism]
    }

    struct Envelope: Equatable, Sendable {
        var sender: String
        var recipients: [String]
        var messageID: String?
    }

    typealias Outcome = Result<SMTPSendResult, SMTPError>

    enum Action: Equatable {
        /// Write the command and arm the command timeout.
        case send(SMTPCommand)
        /// Put TLS in front of the pipeline and arm the handshake timeout.
        case startTLS
        /// Write the prepared (dot-stuffed, terminated) content and arm the data timeout.
        case sendMessage
        /// Close the channel.
        case close
        /// Deliver the outcome to the caller.
        case complete(Outcome)
        /// Nothing to do; keep waiting.
        case none
    }

    private enum State: Equatable {
        case awaitingGreeting
        case ehlo
        case helo
        case startTLS
        case tlsHandshake
        case authLoginUsername
        case authLoginPassword
        case authResult
        case mailFrom
        case recipient(index: Int)
        case data
        case messageBody
        case quitting(Outcome)
        case closing(Outcome)
        case closed
    }

    private let settings: Settings
    private let envelope: Envelope
    private var state: State = .awaitingGreeting
    private var tlsActive: Bool
    private var accepted: [String] = []
    private var rejected: [SMTPRecipientRejection] = []

    init(settings: Settings, envelope: Envelope) {
        self.settings = settings
        self.envelope = envelope
        self.tlsActive = settings.tls == .implicit
    }

    /// The step the session is in (for timeouts and errors).
    var step: SMTPStep {
        switch state {
        case .awaitingGreeting: .greeting
        case .ehlo: .ehlo
        case .helo: .helo
        case .startTLS: .startTLS
        case .tlsHandshake: .tlsHandshake
        case .authLoginUsername, .authLoginPassword, .authResult: .authentication
        case .mailFrom: .mailFrom
        case .recipient: .recipient
        case .data: .data
        case .messageBody: .messageBody
        case .quitting, .closing, .closed: .quit
        }
    }

    /// True once the machine no longer waits for the server (the outcome is decided).
    var isFinishing: Bool {
        switch state {
        case .quitting, .closing, .closed: true
        default: false
        }
    }

    // MARK: Events

    mutating func replyReceived(_ reply: SMTPReply) -> Action {
        switch state {
        case .awaitingGreeting:
            guard reply.code == 220 else {
                return fail(.greetingRejected, "the server refused the session", reply: reply)
            }
            state = .ehlo
            return .send(.ehlo(settings.localHostname))

        case .ehlo:
            if reply.isPositiveCompletion { return helloCompleted(SMTPCapabilities(ehloReply: reply)) }
            if reply.isPermanentFailure && reply.code != 421 {
                state = .helo
                return .send(.helo(settings.localHostname))
            }
            return fail(.helloRejected, "EHLO was refused", reply: reply)

        case .helo:
            guard reply.isPositiveCompletion else { return fail(.helloRejected, "EHLO and HELO were refused", reply: reply) }
            return helloCompleted(SMTPCapabilities())

        case .startTLS:
            guard reply.code == 220 else { return fail(.startTLSRejected, "STARTTLS was refused", reply: reply) }
            state = .tlsHandshake
            return .startTLS

        case .tlsHandshake:
            return fail(.protocolViolation, "reply received during the TLS handshake", reply: reply, quit: false)

        case .authLoginUsername:
            guard reply.code == 334, let credentials = settings.credentials else {
                return fail(.authenticationRejected, "AUTH LOGIN was refused", reply: reply)
            }
            state = .authLoginPassword
            return .send(.authResponse(SMTPSecret(Base64.encode(credentials.username))))

        case .authLoginPassword:
            guard reply.code == 334, let credentials = settings.credentials else {
                return fail(.authenticationRejected, "the server refused the user name", reply: reply)
            }
            state = .authResult
            return .send(.authResponse(SMTPSecret(Base64.encode(credentials.password.value))))

        case .authResult:
            if reply.code == 235 { return startMailTransaction() }
            if reply.code == 334 {
                // We sent every credential we have: a further challenge is not PLAIN/LOGIN.
                return fail(.protocolViolation, "unexpected authentication challenge", reply: reply)
            }
            return fail(.authenticationRejected, "the server refused the credentials", reply: reply)

        case .mailFrom:
            guard reply.isPositiveCompletion else { return fail(.senderRejected, "MAIL FROM was refused", reply: reply) }
            return nextRecipient(from: 0)

        case .recipient(let index):
            let recipient = envelope.recipients[index]
            if reply.code == 250 || reply.code == 251 {
                accepted.append(recipient)
            } else {
                if reply.code == 421 { return fail(.recipientsRejected, "the server is closing", reply: reply) }
                rejected.append(SMTPRecipientRejection(recipient: recipient, reply: reply))
            }
            return nextRecipient(from: index + 1)

        case .data:
            guard reply.code == 354 else { return fail(.dataRejected, "DATA was refused", reply: reply) }
            state = .messageBody
            return .sendMessage

        case .messageBody:
            guard reply.isPositiveCompletion else {
                return fail(.messageRejected, "the server refused the message", reply: reply)
            }
            let result = SMTPSendResult(
                acceptedRecipients: accepted,
                rejectedRecipients: rejected,
                reply: reply,
                messageID: envelope.messageID
            )
            state = .quitting(.success(result))
            return .send(.quit)

        case .quitting(let outcome):
            state = .closing(outcome)
            return .close

        case .closing, .closed:
            return .none
        }
    }

    /// TLS is up: after STARTTLS, forget what was said in clear text and say EHLO again.
    mutating func tlsHandshakeCompleted() -> Action {
        guard case .tlsHandshake = state else { return .none }  // implicit TLS: wait for the greeting
        tlsActive = true
        state = .ehlo
        return .send(.ehlo(settings.localHostname))
    }

    /// The timer armed for the current step fired.
    mutating func timeoutFired() -> Action {
        switch state {
        case .quitting(let outcome):
            state = .closing(outcome)
            return .close
        case .closing, .closed:
            return .none
        default:
            let step = self.step
            return fail(.timeout, "no answer from the server in time", step: step, quit: false)
        }
    }

    /// A transport, TLS or parse error; the first error decides the outcome.
    mutating func errorCaught(_ error: SMTPError) -> Action {
        switch state {
        case .quitting(let outcome):
            state = .closing(outcome)
            return .close
        case .closing, .closed:
            return .none
        default:
            var error = error
            if error.step == nil { error.step = step }
            state = .closing(.failure(error))
            return .close
        }
    }

    /// The channel closed: deliver the outcome (a premature close is an error).
    mutating func channelInactive() -> Action {
        switch state {
        case .quitting(let outcome), .closing(let outcome):
            state = .closed
            return .complete(outcome)
        case .closed:
            return .none
        default:
            let error = SMTPError(
                code: .connectionClosed,
                message: "the server closed the connection",
                step: step
            )
            state = .closed
            return .complete(.failure(error))
        }
    }

    // MARK: Steps

    private mutating func helloCompleted(_ capabilities: SMTPCapabilities) -> Action {
        if settings.tls == .startTLS && !tlsActive {
            guard capabilities.supportsStartTLS else {
                return fail(.startTLSUnavailable, "STARTTLS is required but the server does not offer it")
            }
            state = .startTLS
            return .send(.startTLS)
        }
        guard let credentials = settings.credentials else { return startMailTransaction() }
        guard tlsActive || settings.allowPlaintextAuthentication else {
            return fail(
                .insecureAuthenticationRefused,
                "refusing to send credentials over an unencrypted connection"
            )
        }
        let offered = capabilities.authenticationMechanisms
        guard let mechanism = settings.authenticationMechanisms.first(where: { offered.contains($0.rawValue) }) else {
            let list = offered.isEmpty ? "none" : offered.sorted().joined(separator: " ")
            return fail(.authenticationUnsupported, "no supported AUTH mechanism offered (server offers: \(list))")
        }
        switch mechanism {
        case .plain:
            state = .authResult
            let response = Base64.encode(Array("\0\(credentials.username)\0\(credentials.password.value)".utf8))
            return .send(.authPlain(initialResponse: SMTPSecret(response)))
        case .login:
            state = .authLoginUsername
            return .send(.authLogin)
        }
    }

    private mutating func startMailTransaction() -> Action {
        state = .mailFrom
        return .send(.mailFrom(envelope.sender))
    }

    private mutating func nextRecipient(from index: Int) -> Action {
        if index < envelope.recipients.count {
            state = .recipient(index: index)
            return .send(.recipient(envelope.recipients[index]))
        }
        guard !accepted.isEmpty else {
            let error = SMTPError(
                code: .recipientsRejected,
                message: "the server refused every recipient",
                step: .recipient,
                reply: rejected.last?.reply,
                rejectedRecipients: rejected
            )
            state = .quitting(.failure(error))
            return .send(.quit)
        }
        state = .data
        return .send(.data)
    }

    /// Decides a failure: politely QUIT unless the server is going away (421) or the
    /// connection is unusable, in which case just close.
    private mutating func fail(
        _ code: SMTPError.Code,
        _ message: String,
        reply: SMTPReply? = nil,
        step: SMTPStep? = nil,
        quit: Bool = true
    ) -> Action {
        let error = SMTPError(code: code, message: message, step: step ?? self.step, reply: reply)
        if quit && reply?.code != 421 {
            state = .quitting(.failure(error))
            return .send(.quit)
        }
        state = .closing(.failure(error))
        return .close
    }
}
