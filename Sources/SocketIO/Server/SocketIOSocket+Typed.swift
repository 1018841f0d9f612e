extension SocketIOSocket {
    /// Handles an event whose first argument decodes as `T`. Arguments that do not decode
    /// are logged and the handler is not called.
    public func on<T: Decodable & SendableMetatype>(
        _ event: String,
        as type: T.Type,
        _ handler: @escaping @Sendable (T) async throws -> Void
    ) {
        on(event) { event in
            try await handler(try event.argument(0, as: T.self))
        }
    }

    /// Handles an event whose first argument decodes as `T` and acknowledges with the
    /// handler's result (when the client asked for an ack).
    public func on<T: Decodable & SendableMetatype, R: Encodable & SendableMetatype>(
        _ event: String,
        as type: T.Type,
        _ handler: @escaping @Sendable (T) async throws -> R
    ) {
        on(event) { event in
            let result = try await handler(try event.argument(0, as: T.self))
            try event.ack?.send(encoding: result)
        }
    }
}
