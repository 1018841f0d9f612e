import NIOCore

/// A command as a value: its arguments, and how to decode its reply into `Response`.
///
/// Because the response type travels with the command, a pipeline of
/// `(RedisCommand<Int>, RedisCommand<String?>)` returns `(Int, String?)`. The static
/// constructors (`.get`, `.xadd`, …) are grouped by the Redis docs' command families; any
/// other command can be built with ``init(_:as:)`` or ``init(_:blocking:decode:)``.
public struct RedisCommand<Response: Sendable>: Sendable {
    /// The command name and its arguments, as sent.
    public var arguments: [RedisArgument]
    /// For commands that block on the server (`BLOCK`, `BLPOP` timeouts): how long, so the
    /// client timeout can be extended by that much. `.zero` means "forever".
    public var blockingTimeout: Duration?
    @usableFromInline let decoder: @Sendable (RESPValue) throws(RedisError) -> Response

    public init(
        _ arguments: [RedisArgument],
        blocking: Duration? = nil,
        decode: @escaping @Sendable (RESPValue) throws(RedisError) -> Response
    ) {
        self.arguments = arguments
        self.blockingTimeout = blocking
        self.decoder = decode
    }

    /// The command name, upper-cased, for logs.
    public var name: String { arguments.first?.text.uppercased() ?? "" }

    /// Decodes a reply: error replies become ``RedisError`` with code ``RedisError/Code/server``.
    @inlinable
    public func decode(_ value: RESPValue) throws(RedisError) -> Response {
        if let error = RedisError(reply: value) { throw error }
        return try decoder(value)
    }
}

extension RedisError {
    /// The error an error reply stands for; nil for any other reply.
    @usableFromInline
    init?(reply: RESPValue) {
        switch reply {
        case .simpleError(let b), .bulkError(let b): self = .server(String(buffer: b))
        default: return nil
        }
    }
}

extension RedisCommand where Response: RESPValueDecodable {
    /// Any command, its reply decoded as `Response` (`String?`, `Int`, `[String]`, `RESPValue`…).
    /// Inlinable so the decoding closure is made for the caller's `Response`, capturing
    /// nothing (a generic one is allocated per command).
    @inlinable
    public init(_ arguments: [RedisArgument], as: Response.Type = Response.self, blocking: Duration? = nil) {
        self.init(arguments, blocking: blocking) { (value: RESPValue) throws(RedisError) -> Response in
            try Response(fromRESP: value)
        }
    }
}

extension RedisCommand {
    /// Replies that are `+OK` (or anything not an error): the value is discarded.
    static func ok(_ arguments: [RedisArgument]) -> RedisCommand<Void> {
        RedisCommand<Void>(arguments) { (_: RESPValue) throws(RedisError) in }
    }
}
