// MARK: Streams

/// One stream entry: its ID and its field/value pairs in order.
public struct RedisStreamEntry: Sendable, Hashable {
    public var id: String
    public var fields: [RedisStreamField]

    public init(id: String, fields: [RedisStreamField]) {
        self.id = id
        self.fields = fields
    }

    /// The first value of `field`, or nil.
    public subscript(field: String) -> String? {
        fields.first { $0.name == field }?.value
    }

    init(fromRESP value: RESPValue) throws(RedisError) {
        guard let parts = value.elements, parts.count == 2 else { throw .unexpected(value, expected: "a stream entry") }
        self.id = try String(fromRESP: parts[0])
        // A deleted entry still pending in a group comes back with nil fields.
        if case .null = parts[1] {
            self.fields = []
            return
        }
        guard let flat = parts[1].elements, flat.count % 2 == 0 else {
            throw .unexpected(value, expected: "stream fields")
        }
        var fields: [RedisStreamField] = []
        fields.reserveCapacity(flat.count / 2)
        var i = 0
        while i < flat.count {
            fields.append(RedisStreamField(name: try String(fromRESP: flat[i]), value: try String(fromRESP: flat[i + 1])))
            i += 2
        }
        self.fields = fields
    }
}

public struct RedisStreamField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// How `XADD`/`XTRIM` trim a stream.
public enum RedisStreamTrim: Sendable, Hashable {
    /// `MAXLEN ~ n`: about n entries, trimmed whole macro-nodes at a time (cheap).
    case approximateMaxLength(Int)
    /// `MAXLEN = n`: exactly n entries.
    case exactMaxLength(Int)
    /// `MINID ~ id`: drop entries older than id, approximately.
    case approximateMinID(String)

    var arguments: [RedisArgument] {
        switch self {
        case .approximateMaxLength(let n): ["MAXLEN", "~", RedisArgument(n)]
        case .exactMaxLength(let n): ["MAXLEN", "=", RedisArgument(n)]
        case .approximateMinID(let id): ["MINID", "~", RedisArgument(id)]
        }
    }
}

/// The entries `XREADGROUP`/`XREAD` returned for one stream.
public struct RedisStreamRead: Sendable, Hashable {
    public var stream: String
    public var entries: [RedisStreamEntry]
}

/// `XPENDING key group` (summary form).
public struct RedisPendingSummary: Sendable, Hashable {
    public var count: Int
    public var smallestID: String?
    public var greatestID: String?
    /// Pending count per consumer.
    public var consumers: [String: Int]
}

/// One row of `XPENDING key group start end count` (extended form).
public struct RedisPendingEntry: Sendable, Hashable {
    public var id: String
    public var consumer: String
    /// Time since last delivered to a consumer.
    public var idle: Duration
    public var deliveryCount: Int
}

/// The reply of `XAUTOCLAIM`.
public struct RedisAutoClaimResult: Sendable, Hashable {
    /// Where the next `XAUTOCLAIM` should start (`0-0` when the scan is complete).
    public var nextStart: String
    public var entries: [RedisStreamEntry]
    /// IDs that were pending but no longer exist in the stream (Redis 7+).
    public var deletedIDs: [String]
}

/// One consumer group from `XINFO GROUPS`.
public struct RedisStreamGroupInfo: Sendable, Hashable {
    public var name: String
    public var consumers: Int
    public var pending: Int
    public var lastDeliveredID: String
    /// Entries not yet delivered to the group (Redis 7+; nil when unknown).
    public var lag: Int?
}

extension RedisCommand {
    /// `XADD key [trim] id field value …`; the new entry's ID. `id` defaults to `*`.
    public static func xadd(
        _ key: RedisArgument,
        id: RedisArgument = "*",
        trim: RedisStreamTrim? = nil,
        fields: [(name: RedisArgument, value: RedisArgument)]
    ) -> RedisCommand<String> {
        var args: [RedisArgument] = ["XADD", key]
        if let trim { args += trim.arguments }
        args.append(id)
        for f in fields { args += [f.name, f.value] }
        return RedisCommand<String>(args)
    }

    public static func xlen(_ key: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["XLEN", key])
    }

    /// `XTRIM key MAXLEN|MINID …`: entries removed.
    public static func xtrim(_ key: RedisArgument, _ trim: RedisStreamTrim) -> RedisCommand<Int> {
        RedisCommand<Int>(["XTRIM", key] + trim.arguments)
    }

    public static func xdel(_ key: RedisArgument, ids: [RedisArgument]) -> RedisCommand<Int> {
        RedisCommand<Int>(["XDEL", key] + ids)
    }

    /// `XRANGE key start end [COUNT n]`.
    public static func xrange(
        _ key: RedisArgument,
        start: RedisArgument = "-",
        end: RedisArgument = "+",
        count: Int? = nil
    ) -> RedisCommand<[RedisStreamEntry]> {
        var args: [RedisArgument] = ["XRANGE", key, start, end]
        if let count { args += ["COUNT", RedisArgument(count)] }
        return RedisCommand<[RedisStreamEntry]>(args, decode: decodeEntries)
    }

    /// `XREVRANGE key end start [COUNT n]`: newest first.
    public static func xrevrange(
        _ key: RedisArgument,
        end: RedisArgument = "+",
        start: RedisArgument = "-",
        count: Int? = nil
    ) -> RedisCommand<[RedisStreamEntry]> {
        var args: [RedisArgument] = ["XREVRANGE", key, end, start]
        if let count { args += ["COUNT", RedisArgument(count)] }
        return RedisCommand<[RedisStreamEntry]>(args, decode: decodeEntries)
    }

    /// `XGROUP CREATE key group id [MKSTREAM]`. Fails with ``RedisError/isBusyGroup`` when
    /// the group exists.
    public static func xgroupCreate(
        _ key: RedisArgument,
        group: RedisArgument,
        startID: RedisArgument = "$",
        makeStream: Bool = true
    ) -> RedisCommand<Void> {
        ok(["XGROUP", "CREATE", key, group, startID] + (makeStream ? ["MKSTREAM"] : []))
    }

    public static func xgroupDestroy(_ key: RedisArgument, group: RedisArgument) -> RedisCommand<Bool> {
        RedisCommand<Bool>(["XGROUP", "DESTROY", key, group])
    }

    /// `XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS k… id…`. Returns an empty array
    /// when BLOCK timed out. With `block`, run it on a leased connection (``RedisClient``'s
    /// `send` leases one per command) so it never holds up other commands.
    public static func xreadgroup(
        group: RedisArgument,
        consumer: RedisArgument,
        streams: [(key: RedisArgument, id: RedisArgument)],
        count: Int? = nil,
        block: Duration? = nil,
        noAck: Bool = false
    ) -> RedisCommand<[RedisStreamRead]> {
        var args: [RedisArgument] = ["XREADGROUP", "GROUP", group, consumer]
        if let count { args += ["COUNT", RedisArgument(count)] }
        if let block { args += ["BLOCK", .milliseconds(block)] }
        if noAck { args.append("NOACK") }
        args.append("STREAMS")
        args += streams.map(\.key)
        args += streams.map(\.id)
        return RedisCommand<[RedisStreamRead]>(args, blocking: block, decode: decodeStreamReads)
    }

    /// `XREAD [COUNT n] [BLOCK ms] STREAMS k… id…`.
    public static func xread(
        streams: [(key: RedisArgument, id: RedisArgument)],
        count: Int? = nil,
        block: Duration? = nil
    ) -> RedisCommand<[RedisStreamRead]> {
        var args: [RedisArgument] = ["XREAD"]
        if let count { args += ["COUNT", RedisArgument(count)] }
        if let block { args += ["BLOCK", .milliseconds(block)] }
        args.append("STREAMS")
        args += streams.map(\.key)
        args += streams.map(\.id)
        return RedisCommand<[RedisStreamRead]>(args, blocking: block, decode: decodeStreamReads)
    }

    /// `XACK key group id…`: how many were acknowledged.
    public static func xack(_ key: RedisArgument, group: RedisArgument, ids: [RedisArgument]) -> RedisCommand<Int> {
        RedisCommand<Int>(["XACK", key, group] + ids)
    }

    /// `XAUTOCLAIM key group consumer min-idle start [COUNT n]`.
    public static func xautoclaim(
        _ key: RedisArgument,
        group: RedisArgument,
        consumer: RedisArgument,
        minIdle: Duration,
        start: RedisArgument = "0-0",
        count: Int? = nil
    ) -> RedisCommand<RedisAutoClaimResult> {
        var args: [RedisArgument] = ["XAUTOCLAIM", key, group, consumer, .milliseconds(minIdle), start]
        if let count { args += ["COUNT", RedisArgument(count)] }
        return RedisCommand<RedisAutoClaimResult>(args) { (value: RESPValue) throws(RedisError) -> RedisAutoClaimResult in
            guard let parts = value.elements, parts.count >= 2 else { throw .unexpected(value, expected: "XAUTOCLAIM reply") }
            return RedisAutoClaimResult(
                nextStart: try String(fromRESP: parts[0]),
                entries: try decodeEntries(parts[1]),
                deletedIDs: parts.count > 2 ? try [String](fromRESP: parts[2]) : []
            )
        }
    }

    /// `XCLAIM key group consumer min-idle id… JUSTID`: moves pending entries idle at least
    /// `minIdle` to `consumer` and resets their idle time without counting a delivery;
    /// returns the ids it claimed.
    public static func xclaimJustID(
        _ key: RedisArgument,
        group: RedisArgument,
        consumer: RedisArgument,
        minIdle: Duration,
        ids: [RedisArgument]
    ) -> RedisCommand<[String]> {
        RedisCommand<[String]>(["XCLAIM", key, group, consumer, .milliseconds(minIdle)] + ids + ["JUSTID"])
    }

    /// `XPENDING key group`: the summary form.
    public static func xpending(_ key: RedisArgument, group: RedisArgument) -> RedisCommand<RedisPendingSummary> {
        RedisCommand<RedisPendingSummary>(["XPENDING", key, group]) { (value: RESPValue) throws(RedisError) -> RedisPendingSummary in
            guard let parts = value.elements, parts.count == 4 else { throw .unexpected(value, expected: "XPENDING summary") }
            var consumers: [String: Int] = [:]
            for c in try [RESPValue](fromRESP: parts[3]) {
                guard let pair = c.elements, pair.count == 2 else { throw .unexpected(value, expected: "XPENDING consumer") }
                consumers[try String(fromRESP: pair[0])] = try Int(fromRESP: pair[1])
            }
            return RedisPendingSummary(
                count: try Int(fromRESP: parts[0]),
                smallestID: try String?(fromRESP: parts[1]),
                greatestID: try String?(fromRESP: parts[2]),
                consumers: consumers
            )
        }
    }

    /// `XPENDING key group [IDLE ms] start end count [consumer]`: the extended form.
    public static func xpending(
        _ key: RedisArgument,
        group: RedisArgument,
        minIdle: Duration? = nil,
        start: RedisArgument = "-",
        end: RedisArgument = "+",
        count: Int,
        consumer: RedisArgument? = nil
    ) -> RedisCommand<[RedisPendingEntry]> {
        var args: [RedisArgument] = ["XPENDING", key, group]
        if let minIdle { args += ["IDLE", .milliseconds(minIdle)] }
        args += [start, end, RedisArgument(count)]
        if let consumer { args.append(consumer) }
        return RedisCommand<[RedisPendingEntry]>(args) { (value: RESPValue) throws(RedisError) -> [RedisPendingEntry] in
            try [RESPValue](fromRESP: value).map { (row: RESPValue) throws(RedisError) -> RedisPendingEntry in
                guard let p = row.elements, p.count == 4 else { throw .unexpected(row, expected: "XPENDING row") }
                return RedisPendingEntry(
                    id: try String(fromRESP: p[0]),
                    consumer: try String(fromRESP: p[1]),
                    idle: .milliseconds(try Int(fromRESP: p[2])),
                    deliveryCount: try Int(fromRESP: p[3])
                )
            }
        }
    }

    /// `XINFO GROUPS key`.
    public static func xinfoGroups(_ key: RedisArgument) -> RedisCommand<[RedisStreamGroupInfo]> {
        RedisCommand<[RedisStreamGroupInfo]>(["XINFO", "GROUPS", key]) {
            (value: RESPValue) throws(RedisError) -> [RedisStreamGroupInfo] in
            try [RESPValue](fromRESP: value).map { (row: RESPValue) throws(RedisError) -> RedisStreamGroupInfo in
                guard let pairs = row.pairs else { throw .unexpected(row, expected: "XINFO GROUPS row") }
                var info = RedisStreamGroupInfo(name: "", consumers: 0, pending: 0, lastDeliveredID: "", lag: nil)
                for p in pairs {
                    switch p.key.string {
                    case "name": info.name = try String(fromRESP: p.value)
                    case "consumers": info.consumers = try Int(fromRESP: p.value)
                    case "pending": info.pending = try Int(fromRESP: p.value)
                    case "last-delivered-id": info.lastDeliveredID = try String(fromRESP: p.value)
                    case "lag": info.lag = try Int?(fromRESP: p.value)
                    default: break
                    }
                }
                return info
            }
        }
    }
}

@Sendable
func decodeEntries(_ value: RESPValue) throws(RedisError) -> [RedisStreamEntry] {
    if case .null = value { return [] }
    guard let rows = value.elements else { throw .unexpected(value, expected: "stream entries") }
    var out: [RedisStreamEntry] = []
    out.reserveCapacity(rows.count)
    for r in rows { out.append(try RedisStreamEntry(fromRESP: r)) }
    return out
}

/// `XREAD`/`XREADGROUP` reply: RESP2 `[[key, entries], …]`, RESP3 `{key: entries}`, or null.
@Sendable
func decodeStreamReads(_ value: RESPValue) throws(RedisError) -> [RedisStreamRead] {
    switch value {
    case .null:
        return []
    case .map(let entries):
        var out: [RedisStreamRead] = []
        for e in entries { out.append(RedisStreamRead(stream: try String(fromRESP: e.key), entries: try decodeEntries(e.value))) }
        return out
    case .array(let rows):
        var out: [RedisStreamRead] = []
        for r in rows {
            guard let p = r.elements, p.count == 2 else { throw .unexpected(value, expected: "stream read") }
            out.append(RedisStreamRead(stream: try String(fromRESP: p[0]), entries: try decodeEntries(p[1])))
        }
        return out
    default:
        throw .unexpected(value, expected: "stream read")
    }
}
