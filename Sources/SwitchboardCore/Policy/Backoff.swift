/// Exponential backoff with full jitter: attempt n waits a random time up to
/// `base × 2^(n-1)`, capped. Jitter spreads retries of many jobs that failed together.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300)) {
        self.base = base
        self.cap = cap
    }

    /// The delay before retry number `attempt` (1-based), given a random fraction in 0...1.
    public func delay(attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(base * (1 << exponent), cap)
        let fraction = min(max(jitter, 0), 1)
        // Never zero: half the ceiling is guaranteed, the other half is random.
        return ceiling / 2 + ceiling / 2 * fraction
    }
}
