public import Logging
public import NIOCore
public import NIOPosix

/// A Redis client: a pool of connections for commands, and one dedicated connection for
/// pub/sub, both reconnecting with backoff.
///
/// The client starts no tasks of its own: its background work (opening connections,
/// backoff, resubscribing) runs inside ``run()``, which a service group (or a task group in
/// tests) must run for as long as the client is used. Cancelling `run()` shuts it down.
///
/// ```swift
/// let client = try RedisClient(url: "redis://:secret@127.0.0.1:6379/0")
/// async let _ = client.run()
/// try await client.set("greeting", to: "hello", expiration: .after(.seconds(30)))
/// let (count, value) = try await client.pipeline(.incr("hits"), .get("greeting"))
/// for try await message in try await client.subscribe(to: "events") { … }
/// ```
public final class RedisClient: Sendable, RedisCommandExecutor {
    public let configuration: RedisConfiguration
    let pool: RedisConnectionPool
    let subscriber: RedisSubscriber
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    /// - Parameter onStateChange: called once per change of the command pool's state
    ///   (see ``stateChanges()``); keep it cheap.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RESP"),
        onStateChange: (@Sendable (RedisStateChange) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.pool = RedisConnectionPool(
            configuration: configuration,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            onStateChange: onStateChange
        )
        self.subscriber = RedisSubscriber(
            configuration: configuration,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            onStateChange: nil
        )
    }

    /// A client for `redis://` or `rediss://` URL (see ``RedisConfiguration/init(url:caFile:)``).
    public convenience init(
        url: String,
        caFile: String? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RESP")
    ) throws {
        self.init(configuration: try RedisConfiguration(url: url, caFile: caFile), eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Runs the pool and the pub/sub connection until cancelled; then closes every connection,
    /// fails waiting requests with ``RedisError/Code/clientShutdown`` and ends subscriptions.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.pool.run() }
            group.addTask { await self.subscriber.run() }
        }
    }

    // MARK: Commands

    /// Sends one command on a leased connection. Blocking commands (`XREADGROUP … BLOCK`)
    /// therefore never delay other callers; they only hold one pooled connection.
    @inlinable
    public func send<Response>(_ command: RedisCommand<Response>) async throws -> Response {
        try await withConnection { try await $0.send(command) }
    }

    /// Sends several commands in one write on one connection; typed replies in order.
    public func pipeline<each Response>(
        _ commands: repeat RedisCommand<each Response>
    ) async throws -> (repeat each Response) {
        let lease = try await pool.acquire()
        defer { pool.release(lease) }
        return try await lease.connection.pipeline(repeat each commands)
    }

    /// Sends many commands of one type in one write; one result per command.
    @inlinable
    public func pipeline<Response>(_ commands: [RedisCommand<Response>]) async throws -> [Result<Response, RedisError>] {
        try await withConnection { try await $0.pipeline(commands) }
    }

    /// Runs `body` with one connection to itself (for `WATCH`/`MULTI`, or a loop of blocking
    /// reads), returning it to the pool afterwards.
    public func withConnection<R: Sendable>(_ body: (RedisConnection) async throws -> R) async throws -> R {
        let lease = try await pool.acquire()
        defer { pool.release(lease) }
        return try await body(lease.connection)
    }

    // MARK: Pub/sub

    /// Subscribes to channels on the dedicated pub/sub connection. Returns once the server
    /// confirmed; after a reconnect the subscription is renewed by itself.
    public func subscribe(to channels: String...) async throws -> RedisSubscription {
        try await subscriber.subscribe(channels: Set(channels), patterns: [])
    }

    public func subscribe(to channels: [String]) async throws -> RedisSubscription {
        try await subscriber.subscribe(channels: Set(channels), patterns: [])
    }

    /// Subscribes to glob patterns (`PSUBSCRIBE`); messages carry the matching pattern.
    public func psubscribe(to patterns: String...) async throws -> RedisSubscription {
        try await subscriber.subscribe(channels: [], patterns: Set(patterns))
    }

    public func psubscribe(to patterns: [String]) async throws -> RedisSubscription {
        try await subscriber.subscribe(channels: [], patterns: Set(patterns))
    }

    // MARK: State

    /// The command pool's current state.
    public var state: RedisConnectionState { pool.states.current.state }

    /// The command pool's state: the current one first, then each change; ends at shutdown.
    public func stateChanges() -> AsyncStream<RedisStateChange> { pool.states.makeStream() }

    /// The pub/sub connection's state; `connected` is reported only after resubscribing.
    public var subscriberState: RedisConnectionState { subscriber.states.current.state }

    public func subscriberStateChanges() -> AsyncStream<RedisStateChange> { subscriber.states.makeStream() }
}
