/// Which subscriptions want which channels and patterns: reference counts, so the server is
/// asked to `SUBSCRIBE` a channel once however many local subscribers share it, and to
/// `UNSUBSCRIBE` only when the last one leaves. It is also the list resubscribed after a
/// reconnect.
struct RedisSubscriptionRegistry: Sendable {
    typealias SubscriptionID = Int

    private var byID: [SubscriptionID: (channels: Set<String>, patterns: Set<String>)] = [:]
    private var channelRefs: [String: Set<SubscriptionID>] = [:]
    private var patternRefs: [String: Set<SubscriptionID>] = [:]

    var isEmpty: Bool { byID.isEmpty }
    var channels: [String] { channelRefs.keys.sorted() }
    var patterns: [String] { patternRefs.keys.sorted() }

    /// Registers a subscription; returns the channels and patterns the server must be told of.
    mutating func add(_ id: SubscriptionID, channels: Set<String>, patterns: Set<String>) -> (channels: [String], patterns: [String]) {
        byID[id] = (channels, patterns)
        var newChannels: [String] = []
        var newPatterns: [String] = []
        for c in channels.sorted() {
            if channelRefs[c, default: []].isEmpty { newChannels.append(c) }
            channelRefs[c, default: []].insert(id)
        }
        for p in patterns.sorted() {
            if patternRefs[p, default: []].isEmpty { newPatterns.append(p) }
            patternRefs[p, default: []].insert(id)
        }
        return (newChannels, newPatterns)
    }

    /// Drops a subscription; returns the channels and patterns nobody wants any more.
    mutating func remove(_ id: SubscriptionID) -> (channels: [String], patterns: [String]) {
        guard let entry = byID.removeValue(forKey: id) else { return ([], []) }
        var goneChannels: [String] = []
        var gonePatterns: [String] = []
        for c in entry.channels.sorted() {
            channelRefs[c]?.remove(id)
            if channelRefs[c]?.isEmpty == true {
                channelRefs[c] = nil
                goneChannels.append(c)
            }
        }
        for p in entry.patterns.sorted() {
            patternRefs[p]?.remove(id)
            if patternRefs[p]?.isEmpty == true {
                patternRefs[p] = nil
                gonePatterns.append(p)
            }
        }
        return (goneChannels, gonePatterns)
    }

    /// Subscriptions that should receive `message`.
    func receivers(of message: RedisPubSubMessage) -> Set<SubscriptionID> {
        if let pattern = message.pattern { return patternRefs[pattern] ?? [] }
        return channelRefs[message.channel] ?? []
    }

    var allIDs: [SubscriptionID] { Array(byID.keys) }
}
