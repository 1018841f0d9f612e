/// Decides whether an inbound value is an out-of-band message rather than the reply to the
/// oldest request.
///
/// RESP3 marks them (`>`). RESP2 does not: on a connection in subscribe mode, arrays headed
/// by `message`, `pmessage`, `subscribe`… are pub/sub traffic, and nothing else is.
enum RedisPushClassifier {
    static let pubSubKinds: Set<String> = [
        "message", "pmessage", "smessage", "subscribe", "psubscribe", "ssubscribe",
        "unsubscribe", "punsubscribe", "sunsubscribe",
    ]

    static func isPush(_ value: RESPValue, pubSubMode: Bool) -> Bool {
        switch value {
        case .push:
            return true
        case .array(let elements) where pubSubMode:
            guard let kind = elements.first?.string else { return false }
            return pubSubKinds.contains(kind)
        default:
            return false
        }
    }
}
