import Logging
import NIOCore
import Synchronization

/// Owns the dedicated pub/sub connection: opens it when the first subscription arrives,
/// routes messages to subscriptions, and after a drop reconnects with backoff and
/// resubscribes every channel and pattern before reporting `connected` again.
final class RedisSubscriber: Sendable {
    typealias MessageContinuation = AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation

    private struct State {
        var registry = RedisSubscriptionRegistry()
        var subscribers: [Int: MessageContinuation] = [:]
        var connection: RedisConnection?
        var connectionWaiters: [Int: CheckedContinuation<RedisConnection, any Error>] = [:]
        var nextID = 0
        var isShutdown = false
    }

    let configuration: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let states: RedisStateBroadcaster
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        onStateChange: (@Sendable (RedisStateChange) -> Void)?
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.states = RedisStateBroadcaster(initial: .disconnected, callback: onStateChange)
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Subscribing

    func subscribe(channels: Set<String>, patterns: Set<String>) async throws -> RedisSubscription {
        let (stream, continuation) = AsyncThrowingStream<RedisPubSubMessage, any Error>.makeStream()
        let registered: (id: Int, channels: [String], patterns: [String])? = state.withLock { s in
            if s.isShutdown { return nil }
            let id = s.nextID
            s.nextID += 1
            s.subscribers[id] = continuation
            let new = s.registry.add(id, channels: channels, patterns: patterns)
            return (id, new.channels, new.patterns)
        }
        guard let registered else { throw RedisConnectionPool.shutdownError }
        continuation.onTermination = { [weak self] _ in self?.remove(registered.id) }
        let subscription = RedisSubscription(stream: stream, continuation: continuation)
        if registered.channels.isEmpty && registered.patterns.isEmpty { return subscription }

        // Tell the server, then PING: its reply comes after the confirmations, so once it is
        // back the subscription is live. A drop in between is repaired by the resubscription.
        var attempts = 0
        while true {
            attempts += 1
            do {
                let connection = try await liveConnection()
                if !registered.channels.isEmpty {
                    connection.sendWithoutReply(["SUBSCRIBE"] + registered.channels.map { RedisArgument($0) })
                }
                if !registered.patterns.isEmpty {
                    connection.sendWithoutReply(["PSUBSCRIBE"] + registered.patterns.map { RedisArgument($0) })
                }
                _ = try await connection.sendRaw([["PING"]], blocking: nil)
                return subscription
            } catch let error as RedisError where error.code == .connectionClosed && attempts < 3 {
                continue
            } catch {
                continuation.finish()
                throw error
            }
        }
    }

    private func remove(_ id: Int) {
        let (connection, gone) = state.withLock { s in
            s.subscribers[id] = nil
            return (s.connection, s.registry.remove(id))
        }
        guard let connection else { return }
        if !gone.channels.isEmpty {
            connection.sendWithoutReply(["UNSUBSCRIBE"] + gone.channels.map { RedisArgument($0) })
        }
        if !gone.patterns.isEmpty {
            connection.sendWithoutReply(["PUNSUBSCRIBE"] + gone.patterns.map { RedisArgument($0) })
        }
    }

    /// The current connection, or the next one once it is up and resubscribed.
    private func liveConnection() async throws -> RedisConnection {
        let waiterID = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisConnection, any Error>) in
                let result: Result<RedisConnection, RedisError>? = state.withLock { s in
                    if s.isShutdown { return .failure(RedisConnectionPool.shutdownError) }
                    if let c = s.connection, c.isActive { return .success(c) }
                    s.connectionWaiters[waiterID] = continuation
                    return nil
                }
                if let result {
                    continuation.resume(with: result)
                } else {
                    wake.yield()
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.connectionWaiters.removeValue(forKey: waiterID) }
            waiter?.resume(throwing: RedisError(.cancelled, message: "cancelled while waiting for the pub/sub connection"))
        }
    }

    // MARK: Inbound

    private func handlePush(_ value: RESPValue) {
        guard case .message(let message) = RedisPubSubFrame(value) else { return }
        let targets = state.withLock { s in s.registry.receivers(of: message).compactMap { s.subscribers[$0] } }
        for t in targets { t.yield(message) }
    }

    // MARK: Connection loop

    private var needsConnection: Bool {
        state.withLock { !$0.isShutdown && (!$0.registry.isEmpty || !$0.connectionWaiters.isEmpty) }
    }

    func run() async {
        await withTaskCancellationHandler {
            var attempt = 0
            for await _ in wakeups {
                while needsConnection && !Task.isCancelled {
                    do {
                        let connection = try await connectAndResubscribe()
                        attempt = 0
                        try? await connection.closeFuture.get()
                        state.withLock { $0.connection = nil }
                        if Task.isCancelled { break }
                        let lost = RedisError(.connectionClosed, message: "pub/sub connection lost")
                        logger.info("Redis pub/sub connection lost; resubscribing")
                        states.publish(RedisStateChange(state: .disconnected, error: lost))
                        if needsConnection {
                            states.publish(RedisStateChange(state: .reconnecting, error: lost))
                            try? await Task.sleep(for: configuration.reconnectBackoff.delay(attempt: 0))
                        }
                    } catch {
                        let redisError = RedisChannelHandler.map(error)
                        let waiters = state.withLock { s in
                            defer { s.connectionWaiters.removeAll() }
                            return Array(s.connectionWaiters.values)
                        }
                        for w in waiters { w.resume(throwing: redisError) }
                        states.publish(RedisStateChange(state: .disconnected, error: redisError))
                        if needsConnection {
                            states.publish(RedisStateChange(state: .reconnecting, error: redisError))
                        }
                        try? await Task.sleep(for: configuration.reconnectBackoff.delay(attempt: attempt))
                        attempt += 1
                    }
                }
                if Task.isCancelled { break }
            }
        } onCancel: {
            self.shutdown()
        }
        shutdown()
    }

    private func connectAndResubscribe() async throws -> RedisConnection {
        let connection = try await RedisConnection.connect(
            configuration: configuration,
            eventLoop: eventLoopGroup.any(),
            logger: logger,
            onPush: { [weak self] value in self?.handlePush(value) }
        )
        do {
            let (channels, patterns) = state.withLock { ($0.registry.channels, $0.registry.patterns) }
            if !channels.isEmpty { connection.sendWithoutReply(["SUBSCRIBE"] + channels.map { RedisArgument($0) }) }
            if !patterns.isEmpty { connection.sendWithoutReply(["PSUBSCRIBE"] + patterns.map { RedisArgument($0) }) }
            _ = try await connection.sendRaw([["PING"]], blocking: nil)
        } catch {
            await connection.close()
            throw error
        }
        let (waiters, isShutdown) = state.withLock { s in
            s.connection = connection
            defer { s.connectionWaiters.removeAll() }
            return (Array(s.connectionWaiters.values), s.isShutdown)
        }
        if isShutdown {
            await connection.close()
            throw RedisConnectionPool.shutdownError
        }
        for w in waiters { w.resume(returning: connection) }
        states.publish(RedisStateChange(state: .connected))
        return connection
    }

    func shutdown() {
        let (connection, waiters, subscribers) = state.withLock { s in
            s.isShutdown = true
            defer {
                s.connection = nil
                s.connectionWaiters.removeAll()
                s.subscribers.removeAll()
            }
            return (s.connection, Array(s.connectionWaiters.values), Array(s.subscribers.values))
        }
        wake.finish()
        connection?.channel.close(promise: nil)
        for w in waiters { w.resume(throwing: RedisConnectionPool.shutdownError) }
        for s in subscribers { s.finish() }
        states.publish(RedisStateChange(state: .shutdown))
        states.finish()
    }
}
