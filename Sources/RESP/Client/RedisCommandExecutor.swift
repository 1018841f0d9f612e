/// Anything that can run commands: ``RedisClient`` (a pooled connection per call) and
/// ``RedisConnection`` (one connection). The shorthand methods (`get`, `set`, `xadd`…) live
/// in extensions of this protocol, so both read the same at the call site.
public protocol RedisCommandExecutor: Sendable {
    func send<Response>(_ command: RedisCommand<Response>) async throws -> Response
}

extension RedisConnection: RedisCommandExecutor {}

extension RedisCommandExecutor {
    public func get(_ key: String) async throws -> String? {
        try await send(.get(RedisArgument(key)))
    }

    /// `SET`; false when `condition` prevented the write.
    @discardableResult
    public func set(
        _ key: String,
        to value: String,
        condition: RedisSetCondition? = nil,
        expiration: RedisExpiration? = nil
    ) async throws -> Bool {
        try await send(.set(RedisArgument(key), RedisArgument(value), condition: condition, expiration: expiration))
    }

    @discardableResult
    public func del(_ keys: String...) async throws -> Int {
        try await send(.del(keys.map { RedisArgument($0) }))
    }

    @discardableResult
    public func incr(_ key: String) async throws -> Int {
        try await send(.incr(RedisArgument(key)))
    }

    @discardableResult
    public func expire(_ key: String, after duration: Duration) async throws -> Bool {
        try await send(.pexpire(RedisArgument(key), duration))
    }

    @discardableResult
    public func hset(_ key: String, _ fields: [String: String]) async throws -> Int {
        try await send(.hset(RedisArgument(key), fields.sorted { $0.key < $1.key }.map { (RedisArgument($0.key), RedisArgument($0.value)) }))
    }

    public func hget(_ key: String, field: String) async throws -> String? {
        try await send(.hget(RedisArgument(key), field: RedisArgument(field)))
    }

    public func hgetall(_ key: String) async throws -> [String: String] {
        try await send(.hgetall(RedisArgument(key)))
    }

    @discardableResult
    public func publish(_ message: String, to channel: String) async throws -> Int {
        try await send(.publish(RedisArgument(channel), RedisArgument(message)))
    }

    @discardableResult
    public func ping() async throws -> String {
        try await send(.ping())
    }

    /// Runs `script` with `EVALSHA`, sending the source with `EVAL` only if the server
    /// answers `NOSCRIPT` (it then caches it for the next call).
    public func evalScript(
        _ script: RedisScript,
        keys: [RedisArgument] = [],
        arguments: [RedisArgument] = []
    ) async throws -> RESPValue {
        do {
            return try await send(.evalsha(script.sha1, keys: keys, arguments: arguments))
        } catch let error as RedisError where error.isNoScript {
            return try await send(.eval(script.source, keys: keys, arguments: arguments))
        }
    }

    /// ``evalScript(_:keys:arguments:)`` with the reply decoded as `T`.
    public func evalScript<T: RESPValueDecodable>(
        _ script: RedisScript,
        keys: [RedisArgument] = [],
        arguments: [RedisArgument] = [],
        as: T.Type
    ) async throws -> T {
        try T(fromRESP: try await evalScript(script, keys: keys, arguments: arguments))
    }

    /// `XGROUP CREATE … MKSTREAM`, treating "group already exists" (BUSYGROUP) as success.
    /// Returns false when the group existed.
    @discardableResult
    public func createGroupIfNeeded(stream: String, group: String, startID: String = "$") async throws -> Bool {
        do {
            try await send(.xgroupCreate(RedisArgument(stream), group: RedisArgument(group), startID: RedisArgument(startID)))
            return true
        } catch let error as RedisError where error.isBusyGroup {
            return false
        }
    }
}
