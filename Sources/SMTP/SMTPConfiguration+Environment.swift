extension SMTPConfiguration {
    /// Reads the configuration from the variables Switchboard shares with the system it
    /// replaces, plus optional extensions:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `EMAIL_SERVER_HOST` | required |
    /// | `EMAIL_SERVER_PORT` | default 587 |
    /// | `EMAIL_SERVER_USER`, `EMAIL_SERVER_PASSWORD` | optional; both or neither |
    /// | `EMAIL_FROM` | required; `addr@example.com` or `Name <addr@example.com>` |
    /// | `EMAIL_SERVER_TLS` | optional override: `starttls`, `tls` (implicit), `none` |
    /// | `EMAIL_SERVER_CA_FILE` | optional PEM of CAs to trust instead of the system's |
    /// | `EMAIL_SERVER_ALLOW_PLAINTEXT_AUTH` | `1`/`true`: allow AUTH without TLS (local relay) |
    ///
    /// Empty values count as unset.
    public init(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingWhitespace(), !raw.isEmpty else { return nil }
            return raw
        }
        func invalid(_ message: String) -> SMTPError {
            SMTPError(code: .invalidConfiguration, message: message)
        }

        guard let host = value("EMAIL_SERVER_HOST") else { throw invalid("EMAIL_SERVER_HOST is not set") }
        var port = 587
        if let text = value("EMAIL_SERVER_PORT") {
            guard let parsed = Int(text), (1...65535).contains(parsed) else {
                throw invalid("EMAIL_SERVER_PORT is not a port number: \(text)")
            }
            port = parsed
        }
        var tlsMode = TLSMode.default(forPort: port)
        if let text = value("EMAIL_SERVER_TLS") {
            switch text.lowercased() {
            case "starttls": tlsMode = .startTLS
            case "tls", "ssl", "implicit", "implicittls": tlsMode = .implicitTLS
            case "none", "plain", "off", "false": tlsMode = .none
            default: throw invalid("EMAIL_SERVER_TLS must be starttls, tls or none, not \(text)")
            }
        }
        let credentials: Credentials?
        switch (value("EMAIL_SERVER_USER"), environment["EMAIL_SERVER_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 }) {
        case (let user?, let password?): credentials = Credentials(username: user, password: SMTPSecret(password))
        case (nil, nil): credentials = nil
        case (_?, nil): throw invalid("EMAIL_SERVER_USER is set but EMAIL_SERVER_PASSWORD is not")
        case (nil, _?): throw invalid("EMAIL_SERVER_PASSWORD is set but EMAIL_SERVER_USER is not")
        }
        guard let fromText = value("EMAIL_FROM") else { throw invalid("EMAIL_FROM is not set") }
        let from: MailAddress
        do {
            from = try MailAddress(parsing: fromText)
        } catch {
            throw invalid("EMAIL_FROM is not a valid address: \(error.message)")
        }
        let allowPlaintext = ["1", "true", "yes"].contains(value("EMAIL_SERVER_ALLOW_PLAINTEXT_AUTH")?.lowercased() ?? "")

        self.init(
            host: host,
            port: port,
            tlsMode: tlsMode,
            credentials: credentials,
            from: from,
            trustRoots: value("EMAIL_SERVER_CA_FILE").map { .pemFile($0) } ?? .system,
            allowPlaintextAuthentication: allowPlaintext
        )
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
