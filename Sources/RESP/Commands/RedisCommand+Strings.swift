public import NIOCore

/// How `SET` treats an existing key.
public enum RedisSetCondition: Sendable, Hashable {
    /// `NX`: only set if the key does not exist.
    case ifNotExists
    /// `XX`: only set if the key exists.
    case ifExists
}

/// How `SET` sets the key's time to live.
public enum RedisExpiration: Sendable, Hashable {
    /// `PX`: expire after this long.
    case after(Duration)
    /// `KEEPTTL`: keep the current time to live.
    case keepTTL
}

// MARK: Strings and keys

extension RedisCommand {
    public static func get(_ key: RedisArgument) -> RedisCommand<String?> {
        RedisCommand<String?>(["GET", key])
    }

    /// `GETDEL key` (Redis 6.2+): the value, and the key is gone; nil when it did not exist.
    public static func getdel(_ key: RedisArgument) -> RedisCommand<String?> {
        RedisCommand<String?>(["GETDEL", key])
    }

    /// `GET`, the value as raw bytes.
    public static func getBuffer(_ key: RedisArgument) -> RedisCommand<ByteBuffer?> {
        RedisCommand<ByteBuffer?>(["GET", key])
    }

    /// `SET key value [NX|XX] [PX ms|KEEPTTL]`; true when the value was set (false when a
    /// condition prevented it).
    public static func set(
        _ key: RedisArgument,
        _ value: RedisArgument,
        condition: RedisSetCondition? = nil,
        expiration: RedisExpiration? = nil
    ) -> RedisCommand<Bool> {
        var args: [RedisArgument] = ["SET", key, value]
        switch condition {
        case .ifNotExists: args.append("NX")
        case .ifExists: args.append("XX")
        case nil: break
        }
        switch expiration {
        case .after(let d): args += ["PX", .milliseconds(d)]
        case .keepTTL: args.append("KEEPTTL")
        case nil: break
        }
        return RedisCommand<Bool>(args) { (value: RESPValue) throws(RedisError) -> Bool in
            if case .null = value { return false }
            return true
        }
    }

    public static func mget(_ keys: [RedisArgument]) -> RedisCommand<[String?]> {
        RedisCommand<[String?]>(["MGET"] + keys)
    }

    /// `DEL`; the number of keys removed.
    public static func del(_ keys: RedisArgument...) -> RedisCommand<Int> { del(keys) }
    public static func del(_ keys: [RedisArgument]) -> RedisCommand<Int> {
        RedisCommand<Int>(["DEL"] + keys)
    }

    public static func exists(_ keys: RedisArgument...) -> RedisCommand<Int> {
        RedisCommand<Int>(["EXISTS"] + keys)
    }

    public static func incr(_ key: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["INCR", key])
    }

    public static func incrby(_ key: RedisArgument, _ amount: Int) -> RedisCommand<Int> {
        RedisCommand<Int>(["INCRBY", key, RedisArgument(amount)])
    }

    public static func decr(_ key: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["DECR", key])
    }

    /// `EXPIRE key seconds`; true when a timeout was set.
    public static func expire(_ key: RedisArgument, seconds: Int) -> RedisCommand<Bool> {
        RedisCommand<Bool>(["EXPIRE", key, RedisArgument(seconds)])
    }

    /// `PEXPIRE key ms`; true when a timeout was set.
    public static func pexpire(_ key: RedisArgument, _ duration: Duration) -> RedisCommand<Bool> {
        RedisCommand<Bool>(["PEXPIRE", key, .milliseconds(duration)])
    }

    /// `PTTL`: milliseconds left, -1 without expiry, -2 when the key does not exist.
    public static func pttl(_ key: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["PTTL", key])
    }

    public static func ttl(_ key: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["TTL", key])
    }
}

// MARK: Hashes

extension RedisCommand {
    /// `HSET key field value …`; the number of fields added.
    public static func hset(_ key: RedisArgument, _ fields: [(field: RedisArgument, value: RedisArgument)]) -> RedisCommand<Int> {
        var args: [RedisArgument] = ["HSET", key]
        for f in fields { args += [f.field, f.value] }
        return RedisCommand<Int>(args)
    }

    public static func hset(_ key: RedisArgument, field: RedisArgument, value: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["HSET", key, field, value])
    }

    public static func hget(_ key: RedisArgument, field: RedisArgument) -> RedisCommand<String?> {
        RedisCommand<String?>(["HGET", key, field])
    }

    /// `HMGET key field…`: one value (or nil) per field, in order.
    public static func hmget(_ key: RedisArgument, fields: [RedisArgument]) -> RedisCommand<[String?]> {
        RedisCommand<[String?]>(["HMGET", key] + fields)
    }

    public static func hgetall(_ key: RedisArgument) -> RedisCommand<[String: String]> {
        RedisCommand<[String: String]>(["HGETALL", key])
    }

    public static func hdel(_ key: RedisArgument, fields: [RedisArgument]) -> RedisCommand<Int> {
        RedisCommand<Int>(["HDEL", key] + fields)
    }

    public static func hincrby(_ key: RedisArgument, field: RedisArgument, by amount: Int) -> RedisCommand<Int> {
        RedisCommand<Int>(["HINCRBY", key, field, RedisArgument(amount)])
    }
}

// MARK: Sets

extension RedisCommand {
    public static func sadd(_ key: RedisArgument, _ members: [RedisArgument]) -> RedisCommand<Int> {
        RedisCommand<Int>(["SADD", key] + members)
    }

    public static func srem(_ key: RedisArgument, _ members: [RedisArgument]) -> RedisCommand<Int> {
        RedisCommand<Int>(["SREM", key] + members)
    }

    public static func smembers(_ key: RedisArgument) -> RedisCommand<[String]> {
        RedisCommand<[String]>(["SMEMBERS", key])
    }

    public static func sismember(_ key: RedisArgument, _ member: RedisArgument) -> RedisCommand<Bool> {
        RedisCommand<Bool>(["SISMEMBER", key, member])
    }

    public static func scard(_ key: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["SCARD", key])
    }
}

// MARK: Sorted sets

/// A bound of a score range: inclusive, exclusive (`(`), or infinite.
public enum RedisScoreBound: Sendable, Hashable {
    case inclusive(Double)
    case exclusive(Double)
    case negativeInfinity
    case positiveInfinity

    var argument: RedisArgument {
        switch self {
        case .inclusive(let d): RedisArgument(RedisArgument.format(d))
        case .exclusive(let d): RedisArgument("(" + RedisArgument.format(d))
        case .negativeInfinity: "-inf"
        case .positiveInfinity: "+inf"
        }
    }
}

extension RedisCommand {
    /// `ZADD key score member …`; the number of members added.
    public static func zadd(_ key: RedisArgument, _ members: [(score: Double, member: RedisArgument)]) -> RedisCommand<Int> {
        var args: [RedisArgument] = ["ZADD", key]
        for m in members { args += [RedisArgument(m.score), m.member] }
        return RedisCommand<Int>(args)
    }

    public static func zrem(_ key: RedisArgument, _ members: [RedisArgument]) -> RedisCommand<Int> {
        RedisCommand<Int>(["ZREM", key] + members)
    }

    public static func zscore(_ key: RedisArgument, _ member: RedisArgument) -> RedisCommand<Double?> {
        RedisCommand<Double?>(["ZSCORE", key, member])
    }

    public static func zcard(_ key: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["ZCARD", key])
    }

    /// `ZRANGEBYSCORE key min max [LIMIT offset count]`: members only.
    public static func zrangebyscore(
        _ key: RedisArgument,
        min: RedisScoreBound,
        max: RedisScoreBound,
        limit: (offset: Int, count: Int)? = nil
    ) -> RedisCommand<[String]> {
        var args: [RedisArgument] = ["ZRANGEBYSCORE", key, min.argument, max.argument]
        if let limit { args += ["LIMIT", RedisArgument(limit.offset), RedisArgument(limit.count)] }
        return RedisCommand<[String]>(args)
    }

    /// `ZRANGEBYSCORE … WITHSCORES`: members with their scores, in order. Reads the RESP2 flat
    /// form and RESP3's pairs alike.
    public static func zrangebyscoreWithScores(
        _ key: RedisArgument,
        min: RedisScoreBound,
        max: RedisScoreBound,
        limit: (offset: Int, count: Int)? = nil
    ) -> RedisCommand<[(member: String, score: Double)]> {
        var args: [RedisArgument] = ["ZRANGEBYSCORE", key, min.argument, max.argument, "WITHSCORES"]
        if let limit { args += ["LIMIT", RedisArgument(limit.offset), RedisArgument(limit.count)] }
        return RedisCommand<[(member: String, score: Double)]>(args) {
            (value: RESPValue) throws(RedisError) -> [(member: String, score: Double)] in
            guard let elements = value.elements else { throw .unexpected(value, expected: "an array") }
            var out: [(member: String, score: Double)] = []
            if let first = elements.first, first.elements != nil {
                for pair in elements {
                    guard let p = pair.elements, p.count == 2 else { throw .unexpected(value, expected: "pairs") }
                    out.append((try String(fromRESP: p[0]), try Double(fromRESP: p[1])))
                }
            } else {
                guard elements.count % 2 == 0 else { throw .unexpected(value, expected: "pairs") }
                var i = 0
                while i < elements.count {
                    out.append((try String(fromRESP: elements[i]), try Double(fromRESP: elements[i + 1])))
                    i += 2
                }
            }
            return out
        }
    }
}
