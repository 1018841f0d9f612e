import Foundation
import Testing

@testable import SMTP

/// The aiosmtpd sink started by `scripts/lib/smtp.sh` (`sb_start_smtp`), described by the
/// `TEST_SMTP_*` variables. Tests that need it are enabled only when the variables are set,
/// unless `SWITCHBOARD_TEST_REQUIRE_SERVICES=1`, in which case they run and fail.
struct SMTPSink {
    static let variables = [
        "TEST_SMTP_HOST", "TEST_SMTP_PLAIN_PORT", "TEST_SMTP_STARTTLS_PORT", "TEST_SMTP_TLS_PORT",
        "TEST_SMTP_CA", "TEST_SMTP_OTHER_CA", "TEST_SMTP_USER", "TEST_SMTP_PASSWORD", "TEST_SMTP_MAILDIR",
    ]
    static let environment = ProcessInfo.processInfo.environment
    static let isConfigured = variables.allSatisfy { environment[$0]?.isEmpty == false }
    static let isRequired = environment["SWITCHBOARD_TEST_REQUIRE_SERVICES"] == "1"
    static let shouldRun = isConfigured || isRequired

    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    let host: String
    let plainPort: Int
    let startTLSPort: Int
    let tlsPort: Int
    let ca: String
    let otherCA: String
    let user: String
    let password: String
    let maildir: String

    /// The sink, or a failure naming the missing variables.
    static func require() throws -> SMTPSink {
        let missing = variables.filter { environment[$0]?.isEmpty != false }
        guard missing.isEmpty else {
            throw Unavailable(
                description: "SWITCHBOARD_TEST_REQUIRE_SERVICES=1 but \(missing.joined(separator: ", ")) not set (run sb_start_smtp)"
            )
        }
        let e = environment
        return SMTPSink(
            host: e["TEST_SMTP_HOST"]!,
            plainPort: Int(e["TEST_SMTP_PLAIN_PORT"]!)!,
            startTLSPort: Int(e["TEST_SMTP_STARTTLS_PORT"]!)!,
            tlsPort: Int(e["TEST_SMTP_TLS_PORT"]!)!,
            ca: e["TEST_SMTP_CA"]!,
            otherCA: e["TEST_SMTP_OTHER_CA"]!,
            user: e["TEST_SMTP_USER"]!,
            password: e["TEST_SMTP_PASSWORD"]!,
            maildir: e["TEST_SMTP_MAILDIR"]!
        )
    }

    func configuration(
        port: Int,
        tls: SMTPConfiguration.TLSMode,
        authenticate: Bool = true,
        password: String? = nil,
        ca: String? = nil,
        mechanisms: [SMTPAuthenticationMechanism] = [.plain, .login]
    ) throws -> SMTPConfiguration {
        SMTPConfiguration(
            host: host,
            port: port,
            tlsMode: tls,
            credentials: authenticate ? .init(username: user, password: SMTPSecret(password ?? self.password)) : nil,
            from: try MailAddress("noreply@switchboard.test", displayName: "Switchboard Tëst"),
            trustRoots: .pemFile(ca ?? self.ca),
            authenticationMechanisms: mechanisms,
            timeouts: .init(connect: .seconds(5), greeting: .seconds(10), command: .seconds(10))
        )
    }

    /// One message as the sink parsed it (`NNNN-ID.json`, written after the raw `.eml`).
    struct Received {
        let summary: [String: Any]
        let raw: String

        var server: String? { summary["server"] as? String }
        var rcptTos: [String] { summary["rcpt_tos"] as? [String] ?? [] }
        var mailFrom: String? { summary["mail_from"] as? String }
        var headers: [String: Any] { summary["headers"] as? [String: Any] ?? [:] }
        var subject: String? { headers["Subject"] as? String }
        var text: String? { summary["text"] as? String }
        var html: String? { summary["html"] as? String }
        var contentTypes: [String] { summary["content_types"] as? [String] ?? [] }
        var defects: [String] { summary["defects"] as? [String] ?? [] }
        var linesOver998: [Int] { summary["lines_over_998"] as? [Int] ?? [] }
    }

    /// Waits (bounded) for the message delivered to `recipient`.
    func received(for recipient: String, within deadline: Duration = .seconds(10)) async throws -> Received {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        while clock.now < end {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: maildir)) ?? []
            for name in names.sorted() where name.hasSuffix(".json") {
                let path = maildir + "/" + name
                guard let data = FileManager.default.contents(atPath: path),
                    let summary = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                    (summary["rcpt_tos"] as? [String])?.contains(recipient) == true
                else { continue }
                let emlPath = String(path.dropLast(5)) + ".eml"
                let raw = String(decoding: FileManager.default.contents(atPath: emlPath) ?? Data(), as: UTF8.self)
                return Received(summary: summary, raw: raw)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Unavailable(description: "no message for \(recipient) in \(maildir) within \(deadline)")
    }
}
