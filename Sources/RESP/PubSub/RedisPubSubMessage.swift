public import NIOCore

/// A message published to a channel this client subscribed to.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published on.
    public var channel: String
    /// The pattern that matched, for `PSUBSCRIBE` subscriptions.
    public var pattern: String?
    public var payload: ByteBuffer

    public init(channel: String, pattern: String?, payload: ByteBuffer) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload as UTF-8 text.
    public var string: String { String(buffer: payload) }
}

/// An out-of-band pub/sub frame, decoded from a RESP3 push or a RESP2 subscribe-mode array.
enum RedisPubSubFrame: Equatable {
    case message(RedisPubSubMessage)
    case subscribed(kind: String, name: String)
    case unsubscribed(kind: String, name: String?)

    init?(_ value: RESPValue) {
        guard let e = value.elements, let kind = e.first?.string else { return nil }
        switch kind {
        case "message", "smessage":
            guard e.count == 3, let channel = e[1].string, case .bulkString(let payload) = e[2] else { return nil }
            self = .message(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload))
        case "pmessage":
            guard e.count == 4, let pattern = e[1].string, let channel = e[2].string, case .bulkString(let payload) = e[3]
            else { return nil }
            self = .message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload))
        case "subscribe", "psubscribe", "ssubscribe":
            guard e.count >= 2, let name = e[1].string else { return nil }
            self = .subscribed(kind: kind, name: name)
        case "unsubscribe", "punsubscribe", "sunsubscribe":
            self = .unsubscribed(kind: kind, name: e.count >= 2 ? e[1].string : nil)
        default:
            return nil
        }
    }
}
