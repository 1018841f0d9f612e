import Logging
import SMTP
import ServiceLifecycle

/// Sends sign-in mail in the background, so an answer takes as long whether or not the
/// address has an account (and a slow mail server never holds a request). Each message is
/// tried three times with growing pauses; a failure is logged with the SMTP error's code.
/// The link inside a message is a credential: it is never logged.
final class MailOutbox: Service {
    private let mailer: SMTPClient
    private let logger: Logger
    private let stream: AsyncStream<MailMessage>
    private let continuation: AsyncStream<MailMessage>.Continuation

    init(configuration: SMTPConfiguration, logger: Logger) throws {
        mailer = try SMTPClient(configuration: configuration, logger: logger)
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1000))
    }

    /// Queues a message; returns at once.
    func post(_ message: MailMessage) {
        continuation.yield(message)
    }

    func run() async {
        await cancelWhenGracefulShutdown {
            for await message in self.stream {
                await self.deliver(message)
            }
        }
    }

    private func deliver(_ message: MailMessage) async {
        let to = message.to.map(\.address).joined(separator: ", ")
        for attempt in 1...3 {
            do {
                _ = try await mailer.send(message)
                logger.info("sign-in mail sent", metadata: ["to": "\(to)"])
                return
            } catch {
                let code = (error as? SMTPError)?.code.description ?? "\(type(of: error))"
                logger.warning("sign-in mail failed", metadata: ["to": "\(to)", "attempt": "\(attempt)", "code": "\(code)"])
                guard attempt < 3 else { return }
                try? await Task.sleep(for: .seconds(attempt * attempt))
            }
        }
    }
}
