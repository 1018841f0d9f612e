/// A Lua script and its SHA1, computed once, so it can be run with `EVALSHA` and sent in full
/// (`EVAL`) only when the server answers `NOSCRIPT` (first use, or after a restart or
/// `SCRIPT FLUSH`). See `RedisCommandExecutor.evalScript`.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    /// Lower-case hex SHA1 of ``source``, as `SCRIPT LOAD` returns it.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(source.utf8)
    }
}

// MARK: Scripting

extension RedisCommand {
    /// `EVALSHA sha numkeys key… arg…`.
    public static func evalsha(
        _ sha1: String,
        keys: [RedisArgument] = [],
        arguments: [RedisArgument] = []
    ) -> RedisCommand<RESPValue> {
        RedisCommand<RESPValue>(["EVALSHA", RedisArgument(sha1), RedisArgument(keys.count)] + keys + arguments)
    }

    /// `EVAL script numkeys key… arg…`.
    public static func eval(
        _ source: String,
        keys: [RedisArgument] = [],
        arguments: [RedisArgument] = []
    ) -> RedisCommand<RESPValue> {
        RedisCommand<RESPValue>(["EVAL", RedisArgument(source), RedisArgument(keys.count)] + keys + arguments)
    }

    /// `SCRIPT LOAD`: the SHA1 the server computed.
    public static func scriptLoad(_ source: String) -> RedisCommand<String> {
        RedisCommand<String>(["SCRIPT", "LOAD", RedisArgument(source)])
    }

    public static func scriptFlush() -> RedisCommand<Void> {
        ok(["SCRIPT", "FLUSH"])
    }
}
