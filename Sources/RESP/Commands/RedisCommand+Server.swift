// MARK: Connection and server

extension RedisCommand {
    /// `PING`; the reply text (`PONG`, or the message echoed).
    public static func ping(_ message: RedisArgument? = nil) -> RedisCommand<String> {
        RedisCommand<String>(message.map { ["PING", $0] } ?? ["PING"])
    }

    public static func echo(_ message: RedisArgument) -> RedisCommand<String> {
        RedisCommand<String>(["ECHO", message])
    }

    /// `INFO [section]`: the raw text.
    public static func info(_ section: RedisArgument? = nil) -> RedisCommand<String> {
        RedisCommand<String>(section.map { ["INFO", $0] } ?? ["INFO"])
    }

    public static func clientSetName(_ name: RedisArgument) -> RedisCommand<Void> {
        ok(["CLIENT", "SETNAME", name])
    }

    public static func clientGetName() -> RedisCommand<String?> {
        RedisCommand<String?>(["CLIENT", "GETNAME"])
    }

    public static func clientID() -> RedisCommand<Int> {
        RedisCommand<Int>(["CLIENT", "ID"])
    }

    /// `CLIENT KILL TYPE normal|pubsub|…`: the number of clients killed.
    public static func clientKill(type: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["CLIENT", "KILL", "TYPE", type])
    }

    /// `CLIENT KILL ID id`.
    public static func clientKill(id: Int) -> RedisCommand<Int> {
        RedisCommand<Int>(["CLIENT", "KILL", "ID", RedisArgument(id)])
    }

    public static func select(_ database: Int) -> RedisCommand<Void> {
        ok(["SELECT", RedisArgument(database)])
    }

    public static func dbsize() -> RedisCommand<Int> {
        RedisCommand<Int>(["DBSIZE"])
    }

    public static func flushdb() -> RedisCommand<Void> {
        ok(["FLUSHDB"])
    }

    /// `PUBLISH channel message`: how many subscribers received it.
    public static func publish(_ channel: RedisArgument, _ message: RedisArgument) -> RedisCommand<Int> {
        RedisCommand<Int>(["PUBLISH", channel, message])
    }
}
