public import SwitchboardCore

/// What the embedded queue on SQLite knows in memory about which kinds of job may have
/// become claimable, so that a claimer can skip a claim that would find nothing.
///
/// Each claim is a write transaction on SQLite's one writer. The worker's claimers wake on
/// every change to the queue, and most of those claims found nothing: the bot benchmark
/// counted four claims per job run. On SQLite this process is the database's only user and
/// writes one transaction at a time, so it sees every change to the jobs as it happens:
///
/// - a claim that took fewer runs than it could have **settles** its filter: as of the
///   generation read before it began, nothing else of those kinds was claimable;
/// - every change that can make a job claimable **touches** its kind (enqueue, complete,
///   fail, release, a wait cut short) and moves the generation on. A touch made inside a
///   transaction that commits later still comes first, because the claim's transaction
///   cannot begin until that one has committed;
/// - a job that becomes due later is **scheduled** at its time.
///
/// A filter is worth a claim if one of its kinds was touched after it settled, one of its
/// scheduled times has come, or the settling is older than `trust` (which covers what no
/// hint sees, such as a lease that lapsed under a stuck handler). PostgreSQL has concurrent
/// writers and other processes, so its queue claims every time.
public struct ClaimHints: Sendable {
    private struct Settled: Sendable {
        var generation: UInt64
        var at: Int64
    }

    /// How long, in milliseconds, a settled filter is believed without a claim.
    public let trust: Int64
    private var generation: UInt64 = 0
    private var touched: [JobKind: UInt64] = [:]
    /// A touch of every kind (leases handed back wholesale).
    private var touchedAll: UInt64 = 0
    private var settled: [JobKindFilter: Settled] = [:]
    /// Times jobs fall due, ascending.
    private var scheduled: [(at: Int64, kind: JobKind)] = []

    public init(trust: Int64) {
        self.trust = trust
    }

    /// Jobs of `kinds` may have become claimable.
    public mutating func touch(_ kinds: some Sequence<JobKind>) {
        generation += 1
        for kind in kinds { touched[kind] = generation }
    }

    /// Jobs of any kind may have become claimable.
    public mutating func touchAll() {
        generation += 1
        touchedAll = generation
    }

    /// The most scheduled times kept: beyond them the latest are forgotten, and those jobs
    /// are found when the settling is no longer trusted (a process whose claims never
    /// settle, such as one without a worker, would otherwise keep every time).
    public static let maxScheduled = 4096

    /// A job of `kind` becomes claimable at `at` (milliseconds since 1970).
    public mutating func schedule(_ kind: JobKind, at: Int64) {
        let index = scheduled.partitioningIndex { $0.at > at }
        scheduled.insert((at, kind), at: index)
        if scheduled.count > Self.maxScheduled { scheduled.removeLast() }
    }

    /// Whether a claim with `filter` at `now` may find something; if so, the generation to
    /// hand to ``settle(_:asOf:now:)`` should it take less than it could.
    public func claimable(_ filter: JobKindFilter, now: Int64) -> UInt64? {
        guard let settled = settled[filter], now - settled.at < trust, touchedAll <= settled.generation else { return generation }
        let touchedSince = touched.contains { filter.admits($0.key) && $0.value > settled.generation }
        let due = scheduled.prefix { $0.at <= now }.contains { filter.admits($0.kind) }
        return touchedSince || due ? generation : nil
    }

    /// After a claim with `filter` took fewer runs than it could: nothing else of its kinds
    /// was claimable as of `generation`, and what was scheduled up to `now` was seen.
    public mutating func settle(_ filter: JobKindFilter, asOf generation: UInt64, now: Int64) {
        settled[filter] = Settled(generation: generation, at: now)
        let passed = scheduled.partitioningIndex { $0.at > now }
        guard passed > 0 else { return }
        let kept = scheduled[..<passed].filter { !filter.admits($0.kind) }
        scheduled.replaceSubrange(..<passed, with: kept)
    }

    /// After a claim with `filter` took all it could: more may be waiting.
    public mutating func unsettle(_ filter: JobKindFilter) {
        settled[filter] = nil
    }
}

extension Array {
    /// The first index whose element satisfies `belongs`, for an array in which every
    /// element that does comes after every one that does not (binary search).
    fileprivate func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
