import AsyncHTTPClient
import Foundation
public import Hummingbird
public import Logging
import Messenger
public import ServiceLifecycle
import SocketIO
import SocketIOHummingbird
public import SwitchboardCore
import SwitchboardRedis
public import SwitchboardServices
public import SwitchboardStore

/// Which services a `serve` process runs: the HTTP side, the job workers, or both.
public enum ServeRole: String, Sendable, CaseIterable {
    case web
    case worker
    case all

    public var runsWeb: Bool { self != .worker }
    public var runsWorker: Bool { self != .web }
}

/// One running Switchboard: its configuration, its database and store, and the services
/// that `serve` starts. `main` and every test build it the same way.
public struct Switchboard: Sendable {
    public let configuration: SwitchboardConfiguration
    public let database: any SQLDatabase
    public let store: SQLStore
    public let hub: EventHub
    public let logger: Logger
    let databaseService: (any Service)?
    let lock: DataDirectoryLock?
    /// Socket.IO, presence, viewers and typing (the `web` role runs it).
    let realtime: RealtimeGateway
    /// Sends sign-in mail when SMTP is configured.
    let outbox: MailOutbox?
    let cookies: SessionCookie
    let pageCache: ConversationPageCache
    let senderActions: SenderActions
    /// Webhooks arriving and slow acknowledgements, which the worker's ingest runs give way
    /// to (nil when `SWITCHBOARD_ACK_PRESSURE_MS` is 0).
    let acknowledgements: AcknowledgementPressure?
    /// Paces the worker's sends per Page (its share of each limit with Redis).
    let sendPacer: PageSendPacer
    /// Redis (`REDIS_URL`): the Streams queue, the Socket.IO cluster, shared presence.
    let redis: RedisWiring?
    /// Where jobs go: the Streams queue with Redis, else the embedded one.
    public var queue: any JobQueue { redis?.queue ?? store.queue }

    /// Opens the database: the embedded SQLite file is created and migrated on the spot
    /// (and its stale job leases reclaimed); PostgreSQL is checked when the server starts
    /// and never migrated implicitly.
    public static func open(_ configuration: SwitchboardConfiguration, logger: Logger) async throws -> Switchboard {
        MetricsBootstrap.bootstrap()
        var configuration = configuration
        try configuration.ensureSecret()
        let (database, service, lock) = try await openDatabase(configuration, logger: logger, exclusive: true)
        let store = SQLStore(database: database)
        if case .sqlite = configuration.database {
            let applied = try await Migrator(database: database).migrate(now: Date().millisecondsSince1970)
            if !applied.isEmpty { logger.info("migrated the embedded database", metadata: ["versions": "\(applied)"]) }
            let reclaimed = try await store.queue.reclaimLeases(notHeldBy: workerID)
            if reclaimed > 0 { logger.notice("returned jobs left running by the previous run to the queue", metadata: ["jobs": "\(reclaimed)"]) }
        }
        let outbox = try configuration.email.map { try MailOutbox(configuration: $0, logger: logger) }
        let redis = try configuration.redisURL.map { _ in
            try RedisWiring(configuration: configuration, store: store, nodeID: workerID, logger: logger)
        }
        return Switchboard(
            configuration: configuration,
            database: database,
            store: store,
            logger: logger,
            databaseService: service,
            lock: lock,
            outbox: outbox,
            redis: redis
        )
    }

    private init(
        configuration: SwitchboardConfiguration,
        database: any SQLDatabase,
        store: SQLStore,
        logger: Logger,
        databaseService: (any Service)?,
        lock: DataDirectoryLock?,
        outbox: MailOutbox?,
        redis: RedisWiring?
    ) {
        self.configuration = configuration
        self.database = database
        self.store = store
        let hub = EventHub()
        self.hub = hub
        self.logger = logger
        self.databaseService = databaseService
        self.lock = lock
        self.outbox = outbox
        self.redis = redis
        self.acknowledgements = configuration.acknowledgementPressure.map { AcknowledgementPressure(threshold: $0) }
        self.sendPacer = PageSendPacer(configuration: configuration.sendRates)
        let cookies = SessionCookie(secret: configuration.secret.value, secure: configuration.publicURL?.hasPrefix("https://") == true)
        self.cookies = cookies
        let pageCache = ConversationPageCache(store: store)
        self.pageCache = pageCache
        let senderActions = SenderActions(
            store: store,
            graph: Self.graphClient(configuration, logger: logger),
            box: SecretBox(secret: configuration.secret.value),
            throttle: SenderActionThrottle()
        )
        realtime = RealtimeGateway(
            io: SocketIOServer(
                configuration: .init(
                    connectionStateRecovery: .init(),
                    adapter: redis?.cluster.adapterFactory ?? SocketIOInMemoryAdapter.factory,
                    logger: logger
                )
            ),
            hub: hub,
            authenticator: Authenticator(store: store, cookies: cookies),
            pages: pageCache,
            typing: TypingRelay(senderActions: senderActions, logger: logger),
            presence: redis?.presence ?? InProcessPresence(),
            cluster: redis?.cluster,
            logger: logger
        )
        self.senderActions = senderActions
    }

    /// Opens the configured database without migrating it.
    static func openDatabase(
        _ configuration: SwitchboardConfiguration,
        logger: Logger,
        forMigration: Bool = false,
        exclusive: Bool = false
    ) async throws -> (any SQLDatabase, (any Service)?, DataDirectoryLock?) {
        switch configuration.database {
        case .sqlite(let path):
            let directory = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
            // Only `serve` holds the file exclusively (it reclaims the previous run's job
            // leases); CLI commands share it safely through SQLite's own locking.
            let lock = exclusive ? try DataDirectoryLock(path: path + ".lock") : nil
            let database = try await SQLiteDatabase(path: path, durability: configuration.sqliteFullSync ? .full : .normal, logger: logger)
            return (database, nil, lock)
        case .postgres(let url, let migrationURL):
            guard let endpoint = PostgresDatabase.Endpoint(url: forMigration ? migrationURL : url) else {
                throw ConfigurationError(forMigration ? "DIRECT_URL" : "DATABASE_URL", "is not a usable PostgreSQL URL")
            }
            // Migrations may rightly run long statements; everything else answers in time.
            let database = PostgresDatabase(endpoint: endpoint, answerWithin: forMigration ? nil : .seconds(15), logger: logger)
            return (database, DatabaseRunner(database: database), nil)
        }
    }

    /// This process's worker identity, for job leases.
    static let workerID = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"

    var databaseKind: String {
        database.dialect == .postgres ? "postgresql" : "sqlite"
    }

    /// The HTTP routes of the `web` role.
    public func makeRouter(role: ServeRole) -> Router<SwitchboardRequestContext> {
        let router = Router(context: SwitchboardRequestContext.self)
        router.add(middleware: APIErrorMiddleware())
        let status = statusReporter(role: role)
        OperationsRoutes(
            readiness: { [store, database] in
                do {
                    try await store.ping()
                    try await Migrator(database: database).requireCurrent()
                    return nil
                } catch {
                    return String(describing: error)
                }
            },
            degradation: { [redis] in
                guard let backend = redis?.backend, !backend.isConnected else { return nil }
                return "Redis is unreachable (\(backend.maskedURL)); webhooks are stored and dispatched when it returns"
            }
        ).register(on: router)
        WebhookRoutes(
            store: store,
            pressure: acknowledgements,
            verifyToken: configuration.webhookVerifyToken,
            appSecret: configuration.appSecret,
            maxBytes: configuration.webhookMaxBytes,
            logger: logger
        ).register(on: router)
        router.get("/api/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(bytes: OpenAPIDocument.bytes)))
        }
        let accounts = AccountRoutes(
            store: store,
            links: SignInLinks(
                store: store,
                outbox: outbox,
                baseURL: publicURL,
                development: configuration.environment == .development,
                logger: logger
            ),
            cookies: cookies,
            disconnect: { [realtime] room in await realtime.disconnect(room: room) },
            trustProxy: configuration.trustProxy
        )
        accounts.registerPublic(on: router)
        DashboardRoutes(assets: .bundled()).register(on: router)
        router.addSocketIO(realtime.io)
        let access = ConversationAccess(pages: pageCache)
        let api = router.group("/api").add(middleware: AuthMiddleware(authenticator: Authenticator(store: store, cookies: cookies)))
        APIRoutes(store: store, status: status, publisher: hub, access: access).register(on: api)
        RedisStatusRoutes(backend: redis?.backend).register(on: api)
        OutboundRoutes(
            store: store,
            graph: graphClient(),
            box: SecretBox(secret: configuration.secret.value),
            publisher: hub,
            senderActions: senderActions,
            access: access,
            webhook: WebhookSettings(
                callbackUrl: publicURL + "/api/webhook/facebook",
                verifyToken: configuration.webhookVerifyToken,
                fields: WebhookTest.requiredFields
            ),
            logger: logger,
            bot: botConversations
        ).register(on: api)
        let webhookTest = webhookTest(status: status, publicURL: publicURL)
        realtime.serveWebhookTests(with: webhookTest)
        WebhookTestRoutes(store: store, test: webhookTest).register(on: api)
        StatsRoutes(store: store, status: status, presence: { [realtime] in await realtime.presenceCounts() }).register(on: api)
        BotRoutes(store: store, box: SecretBox(secret: configuration.secret.value), access: access, bot: botConversations).register(on: api)
        WorkflowRoutes(store: store, publisher: hub, access: access, bot: botConversations).register(on: api)
        accounts.register(on: api)
        return router
    }

    /// What `GET /api/status` reports for a process in `role`.
    func statusReporter(role: ServeRole) -> StatusReporter {
        StatusReporter(
            store: store,
            queue: queue,
            databaseKind: databaseKind,
            schemaVersion: { [database] in try await Migrator(database: database).currentVersion() },
            redis: redis?.backend,
            role: role.rawValue,
            concurrency: configuration.workerConcurrency,
            demoMode: configuration.demoMode,
            sockets: { [realtime] in realtime.socketCount }
        )
    }

    /// Bot Settings' "Test Webhook", posting its test event to `publicURL`.
    func webhookTest(status: StatusReporter, publicURL: String) -> WebhookTest {
        WebhookTest(
            store: store,
            status: status,
            graph: graphClient(),
            box: SecretBox(secret: configuration.secret.value),
            publicURL: publicURL,
            appSecret: configuration.appSecret,
            appId: configuration.appId,
            logger: logger
        )
    }

    /// Where links in mail point: the public URL, else the address `serve` listens on.
    var publicURL: String { Self.publicURL(configuration) }

    static func publicURL(_ configuration: SwitchboardConfiguration) -> String {
        configuration.publicURL ?? "http://\(configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host):\(configuration.port)"
    }

    /// A sign-in link for an existing user, outside the rate limits (`switchboard user link`).
    public static func signInLink(for user: User, store: SQLStore, configuration: SwitchboardConfiguration, logger: Logger) async throws -> String {
        try await SignInLinks(store: store, outbox: nil, baseURL: publicURL(configuration), development: false, logger: logger).issue(for: user)
    }

    /// Profile lookups in flight per worker process. New customers' names can wait; their
    /// messages, in the general slots, cannot.
    static let profileLookupSlots = 8

    /// The job handlers of the `worker` role.
    func makeWorker(profiles: any ProfileSource) -> JobWorker {
        let apply = ApplyInboundHandler(
            store: store,
            queue: queue,
            publisher: hub,
            ourAppId: configuration.appId,
            logger: logger,
            bot: botConversations
        )
        return JobWorker(
            queue: queue,
            handlers: [
                .splitWebhook: SplitWebhookHandler(
                    store: store,
                    logger: logger,
                    applier: apply,
                    maxBodyBytes: configuration.webhookMaxBytes,
                    givingWay: { [acknowledgements] in acknowledgements?.givesWay ?? false }
                ),
                .applyInbound: apply,
                .botAnswer: botAnswerHandler(),
                .fetchProfile: FetchProfileHandler(store: store, source: profiles, publisher: hub, logger: logger),
                .sendMessage: OutboundSender(
                    store: store,
                    queue: queue,
                    graph: graphClient(),
                    box: SecretBox(secret: configuration.secret.value),
                    publisher: hub,
                    pacer: sendPacer,
                    clock: store.clock,
                    configuration: configuration.outbound,
                    logger: logger
                ),
            ],
            concurrency: configuration.workerConcurrency,
            // Each lane waits on someone else (a model, Meta): slow answers there never hold
            // back the general slots that apply inbound messages.
            lanes: [.botAnswer: configuration.botConcurrency, .sendMessage: configuration.sendConcurrency, .fetchProfile: Self.profileLookupSlots],
            // A customer waits for the bot's answer, an agent for their reply to go out: these
            // run at the process's priority while the rest of the worker runs lowered.
            urgentLanes: [.botAnswer, .sendMessage],
            lease: configuration.jobLease,
            workerID: Self.workerID,
            clock: store.clock,
            // A profile lookup's time is Meta's: it gives way but earns no rest. With one
            // writer (SQLite) every acknowledgement waits for a run's whole transaction.
            giveWay: acknowledgements?.giveWay(
                [.splitWebhook, .applyInbound, .fetchProfile],
                resting: [.splitWebhook, .applyInbound],
                runLength: database.concurrentWriters > 1 ? 128 : 16
            ),
            logger: logger
        )
    }

    /// The application `serve` runs: HTTP for `web`, the workers for `worker`, both for `all`.
    public func application(role: ServeRole, profiles: any ProfileSource, extraServices: [any Service] = []) -> some ApplicationProtocol {
        var services: [any Service] = []
        if let databaseService { services.append(databaseService) }
        services += redis?.services(role: role) ?? []
        // Without sockets, a worker with Redis still relays what it commits to every node.
        if !role.runsWeb, redis != nil { services.append(realtime) }
        if role.runsWorker {
            if let redis {
                services.append(
                    RedisSendShare(backend: redis.backend, heartbeat: configuration.nodeHeartbeat, clock: store.clock, logger: logger) {
                        [sendPacer] share in await sendPacer.setShare(share)
                    }
                )
            }
            let niceness = configuration.workerNiceness
            services.append(
                TaskExecutorService(makeWorker(profiles: profiles), executor: niceness > 0 ? BackgroundExecutor.shared(niceness: niceness) : nil)
            )
        }
        services.append(PeriodicService.queueMetrics(queue, interval: .seconds(5), logger: logger))
        services.append(PeriodicService.pruning(store, eventRetention: 7 * 86_400, interval: .seconds(3600), logger: logger))
        if role.runsWeb {
            services += [realtime.io, realtime]
            if let outbox { services.append(outbox) }
        }
        services += extraServices
        var app = Application(
            router: makeRouter(role: role),
            server: .http1SocketIO(realtime.io),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchboard"),
            services: services,
            logger: logger
        )
        let database = self.database
        let isPostgres = databaseKind == "postgresql"
        app.beforeServerStarts {
            if isPostgres { try await Migrator(database: database).requireCurrent() }
        }
        return app
    }
}

/// Keeps the PostgreSQL connection pool running for the life of the service group.
struct DatabaseRunner: Service {
    let database: PostgresDatabase
    func run() async throws {
        await cancelWhenGracefulShutdown { await database.run() }
    }
}

extension Switchboard {
    /// Runs `body` with the configured database open (and, for PostgreSQL, its pool
    /// running), then closes it. For CLI commands that run outside `serve`.
    public static func withDatabase<T: Sendable>(
        _ configuration: SwitchboardConfiguration,
        logger: Logger,
        forMigration: Bool = false,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let (database, _, lock) = try await openDatabase(configuration, logger: logger, forMigration: forMigration)
        defer { withExtendedLifetime(lock) {} }
        guard let postgres = database as? PostgresDatabase else {
            do {
                let result = try await body(database)
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await postgres.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }

    /// Connects the Page named by `FACEBOOK_PAGE_ID` / `FACEBOOK_PAGE_ACCESS_TOKEN`
    /// (token sealed at rest), so a fresh install needs no UI step.
    public static func connectBootstrapPage(_ configuration: SwitchboardConfiguration, store: SQLStore) async throws {
        guard let id = configuration.bootstrapPageId, let token = configuration.bootstrapPageToken else { return }
        let box = SecretBox(secret: configuration.secret.value)
        try await store.savePage(PageRecord(id: id, name: nil, sealedAccessToken: try box.seal(token.exposedValue)))
    }

    /// The Graph client at the configured URL, version and timeout (the token goes only in
    /// the `Authorization` header).
    func graphClient() -> GraphClient { Self.graphClient(configuration, logger: logger) }

    static func graphClient(_ configuration: SwitchboardConfiguration, logger: Logger) -> GraphClient {
        GraphClient(
            httpClient: graphHTTPClient,
            configuration: .init(baseURL: configuration.graphAPIURL, apiVersion: configuration.graphAPIVersion, timeout: configuration.graphTimeout),
            logger: logger
        )
    }

    /// The Graph API's connections. Meta answers over HTTP/2, many calls to a connection; over
    /// HTTP/1.1 (the emulator, a proxy) each call in flight needs its own, and the shared
    /// client's eight per host would cap sending at eight calls per Meta's latency. The
    /// worker's lanes (`SWITCHBOARD_SEND_CONCURRENCY` sends, ``profileLookupSlots``) bound
    /// how many are open. Lives as long as the process, like `HTTPClient.shared`.
    static let graphHTTPClient = HTTPClient.boundedByCallers()

    /// Profiles through the Graph API at the configured URL and version.
    public func graphProfileSource() -> any ProfileSource {
        GraphProfileSource(
            graph: graphClient(),
            store: store,
            box: SecretBox(secret: configuration.secret.value)
        )
    }
}

extension Switchboard {
    /// Where the state lives, with any password masked (for logs and banners).
    public var databaseDescription: String {
        switch configuration.database {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url, _): SwitchboardConfiguration.masked(url)
        }
    }
}

extension Switchboard {
    /// A Switchboard over a database the caller opened and keeps running (tests).
    /// With `REDIS_URL` set it uses Redis too; run ``redisServices(role:)`` beside it.
    public init(configuration: SwitchboardConfiguration, database: any SQLDatabase, clock: any WallClock = SystemWallClock(), logger: Logger) {
        MetricsBootstrap.bootstrap()
        let store = SQLStore(database: database, clock: clock)
        self.init(
            configuration: configuration,
            database: database,
            store: store,
            logger: logger,
            databaseService: nil,
            lock: nil,
            // Tests that mail configure SMTP with a valid CA; a broken one fails in `open`.
            outbox: configuration.email.flatMap { try? MailOutbox(configuration: $0, logger: logger) },
            redis: configuration.redisURL.flatMap { _ in
                try? RedisWiring(configuration: configuration, store: store, nodeID: Self.workerID, logger: logger)
            }
        )
    }

    /// The Redis services `serve` runs for `role` (none without `REDIS_URL`), for tests
    /// that drive the router themselves.
    public func redisServices(role: ServeRole) -> [any Service] {
        redis?.services(role: role) ?? []
    }
}
