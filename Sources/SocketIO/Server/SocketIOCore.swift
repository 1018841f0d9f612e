import CoreMetrics
import EngineIO
import Logging
import Synchronization

/// The Engine.IO handler behind ``SocketIOServer``: namespaces, clients and the job queue
/// that runs application code inside the server's `run()`.
final class SocketIOCore: EngineIOHandler {
    typealias Job = @Sendable () async -> Void

    let configuration: SocketIOConfiguration
    let metrics = SocketIOMetrics()
    let logger: Logger
    private let namespaces = Mutex<[String: SocketIONamespace]>([:])
    let jobs: AsyncStream<Job>
    private let jobsContinuation: AsyncStream<Job>.Continuation
    private let clientCount = Mutex(0)
    private let jobCount = Mutex(0)

    init(configuration: SocketIOConfiguration) {
        self.configuration = configuration
        self.logger = configuration.logger
        (self.jobs, self.jobsContinuation) = AsyncStream<Job>.makeStream()
    }

    // MARK: Namespaces

    func namespace(_ name: String) -> SocketIONamespace {
        let name = name.hasPrefix("/") ? name : "/" + name
        return namespaces.withLock { namespaces in
            if let existing = namespaces[name] { return existing }
            let namespace = SocketIONamespace(name: name, core: self)
            namespaces[name] = namespace
            return namespace
        }
    }

    func existingNamespace(_ name: String) -> SocketIONamespace? {
        namespaces.withLock { $0[name] }
    }

    var allNamespaces: [SocketIONamespace] { namespaces.withLock { Array($0.values) } }

    /// Engine.IO sessions that carry a Socket.IO client.
    var clients: Int { clientCount.withLock { $0 } }

    // MARK: Jobs

    /// Jobs submitted and not finished (queued or running).
    var jobsInFlight: Int { jobCount.withLock { $0 } }

    /// Runs `job` as a child task of the server's `run()`.
    func submit(_ job: @escaping Job) {
        jobCount.withLock { $0 += 1 }
        jobsContinuation.yield { [self] in
            await job()
            jobCount.withLock { $0 -= 1 }
        }
    }

    func finishJobs() {
        jobsContinuation.finish()
    }

    // MARK: EngineIOHandler

    func engineIOSessionDidOpen(_ session: EngineIOSession) {
        session.attachment = SocketIOClient(session: session, core: self)
        clientCount.withLock { $0 += 1 }
        metrics.clientOpened(session.initialTransport)
    }

    func engineIOSession(_ session: EngineIOSession, didReceive message: EngineIOData) {
        (session.attachment as? SocketIOClient)?.receive(message)
    }

    func engineIOSessionDidUpgrade(_ session: EngineIOSession) {
        (session.attachment as? SocketIOClient)?.upgraded()
        metrics.clientUpgraded()
    }

    func engineIOSessionDidClose(_ session: EngineIOSession, reason: EngineIOCloseReason) {
        guard let client = session.attachment as? SocketIOClient else { return }
        session.attachment = nil
        clientCount.withLock { $0 -= 1 }
        metrics.clientClosed(client.transport)
        if reason == .slowClient { metrics.slowClients.increment() }
        if reason == .parseError {
            logger.info("closing client after a protocol error", metadata: ["sid": "\(session.id)"])
        }
        client.closed(reason: SocketIODisconnectReason(reason))
    }
}
