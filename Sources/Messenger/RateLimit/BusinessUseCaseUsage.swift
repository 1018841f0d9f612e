/// The `X-Business-Use-Case-Usage` header Graph puts on Page-token responses:
/// `{"<page id>":[{"type":"pages","call_count":28,"total_cputime":15,"total_time":20,
/// "estimated_time_to_regain_access":0}]}`. Percentages are 0–100 of the budget.
///
/// The rate limiter slows a Page above 80 % and pauses it for
/// `estimated_time_to_regain_access` minutes when throttled (messenger-platform.md §8).
public struct BusinessUseCaseUsage: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// `pages`, `messenger`, `instagram`, … kept as sent.
        public var type: String
        public var callCount: Int
        public var totalCPUTime: Int
        public var totalTime: Int
        /// Minutes until calls are accepted again; 0 when not throttled.
        public var estimatedTimeToRegainAccess: Int

        public init(type: String, callCount: Int, totalCPUTime: Int, totalTime: Int, estimatedTimeToRegainAccess: Int = 0) {
            self.type = type
            self.callCount = callCount
            self.totalCPUTime = totalCPUTime
            self.totalTime = totalTime
            self.estimatedTimeToRegainAccess = estimatedTimeToRegainAccess
        }

        /// The highest of the three percentages: what counts against the budget.
        public var percent: Int { max(callCount, totalCPUTime, totalTime) }
    }

    /// Entries by business object id (the Page id for Page tokens).
    public var entries: [String: [Entry]]

    public init(entries: [String: [Entry]]) { self.entries = entries }

    /// Parses the header value; nil when it is absent or not the documented shape.
    public init?(header: String?) {
        guard let header, let root = JSONValue.parse(Array(header.utf8))?.object else { return nil }
        var entries: [String: [Entry]] = [:]
        for (id, value) in root {
            entries[id] = (value.array ?? []).compactMap { item in
                guard item.object != nil else { return nil }
                func int(_ key: String) -> Int { Int(item[key]?.int64 ?? 0) }
                return Entry(
                    type: item["type"]?.string ?? "",
                    callCount: int("call_count"),
                    totalCPUTime: int("total_cputime"),
                    totalTime: int("total_time"),
                    estimatedTimeToRegainAccess: int("estimated_time_to_regain_access")
                )
            }
        }
        self.entries = entries
    }

    /// The header value Graph would send (used by the emulator).
    public var headerValue: String {
        var object: [String: JSONValue] = [:]
        for (id, list) in entries {
            object[id] = .array(
                list.map { entry in
                    .object([
                        "type": .string(entry.type), "call_count": .int(Int64(entry.callCount)),
                        "total_cputime": .int(Int64(entry.totalCPUTime)), "total_time": .int(Int64(entry.totalTime)),
                        "estimated_time_to_regain_access": .int(Int64(entry.estimatedTimeToRegainAccess)),
                    ])
                }
            )
        }
        return JSONValue.object(object).jsonText
    }

    /// Highest usage percentage for `id` (or over all ids when nil).
    public func percent(for id: String? = nil) -> Int {
        selected(id).map(\.percent).max() ?? 0
    }

    /// How long until access returns for `id` (or any id), nil when not throttled.
    public func regainAccessAfter(for id: String? = nil) -> Duration? {
        let minutes = selected(id).map(\.estimatedTimeToRegainAccess).max() ?? 0
        return minutes > 0 ? .seconds(minutes * 60) : nil
    }

    private func selected(_ id: String?) -> [Entry] {
        if let id { return entries[id] ?? [] }
        return entries.values.flatMap { $0 }
    }
}
