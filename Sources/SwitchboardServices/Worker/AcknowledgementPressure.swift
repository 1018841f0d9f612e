public import SwitchboardCore
import Synchronization

/// Whether webhook acknowledgements have been slow lately, so that the worker gives way to
/// them (see ``JobWorker/GiveWay``).
///
/// Meta gives up on a webhook after 20 s and expects an answer well under one; applying a
/// stored webhook may wait. When `serve` and its database cannot do both, the worker's runs
/// took the CPU the acknowledgements needed and they slowed to seconds (docs/ingest.md,
/// session 12). An acknowledgement slower than ``Window/threshold`` marks the next
/// ``Window/hold`` as under pressure: long enough that the worker does not spring back the
/// moment acknowledgements recover because it gave way, short enough that a backlog is
/// drained at full speed soon after a burst. A slow disk at light load also trips it; the
/// worker then runs one ingest run at a time, which at light load is all it needs.
public final class AcknowledgementPressure: Sendable {
    /// The rule, without clocks or locks.
    public struct Window: Sendable, Equatable {
        public var threshold: Duration
        public var hold: Duration
        /// Under pressure until then.
        public private(set) var until: ContinuousClock.Instant?
        /// How long the worker rests after each run that gives way, per unit of the run's
        /// own time (see ``restAfterRun()``).
        public private(set) var restPerRun = 0.0
        /// Whether an acknowledgement was slow since the last run ended.
        private var slowSinceRun = false

        /// The rest per unit of run time never exceeds this: the worker keeps a fifth of
        /// its pace however slow acknowledgements are, so a backlog still drains.
        public static let longestRest = 4.0
        /// A run that saw a slow acknowledgement rests at least this (then twice as long as
        /// the last each time); one that saw none rests this much less than the last.
        public static let restStep = 0.25

        public init(threshold: Duration, hold: Duration) {
            self.threshold = threshold
            self.hold = hold
        }

        /// Returns true when this acknowledgement begins a time under pressure, whose rests
        /// start over from none.
        @discardableResult
        public mutating func record(_ latency: Duration, at now: ContinuousClock.Instant) -> Bool {
            guard latency > threshold else { return false }
            slowSinceRun = true
            defer { until = now + hold }
            guard !isUnderPressure(at: now) else { return false }
            restPerRun = 0
            return true
        }

        public func isUnderPressure(at now: ContinuousClock.Instant) -> Bool {
            until.map { now < $0 } ?? false
        }

        /// After a run that gave way: its rest, per unit of its time. Doubled (from
        /// ``restStep``) when an acknowledgement was slow during the run, else lowered by
        /// ``restStep`` down to none: the worker finds the pace the acknowledgements
        /// tolerate instead of a fixed one, which either held them up or left a backlog
        /// the machine had time for (docs/ingest.md, session 15).
        public mutating func restAfterRun() -> Double {
            restPerRun =
                slowSinceRun
                ? min(Self.longestRest, max(Self.restStep, restPerRun * 2))
                : max(0, restPerRun - Self.restStep)
            slowSinceRun = false
            return restPerRun
        }
    }

    private let window: Mutex<Window>

    public init(threshold: Duration, hold: Duration = .seconds(5)) {
        window = Mutex(Window(threshold: threshold, hold: hold))
    }

    /// Records how long one acknowledgement took; true when it begins a time under pressure.
    @discardableResult
    public func record(_ latency: Duration) -> Bool {
        let now = ContinuousClock.now
        return window.withLock { $0.record(latency, at: now) }
    }

    public var isUnderPressure: Bool {
        let now = ContinuousClock.now
        return window.withLock { $0.isUnderPressure(at: now) }
    }

    /// The worker's side: runs of `kinds` give way while acknowledgements are slow, and
    /// those of `resting` are followed by rests (see ``JobWorker/GiveWay``).
    public func giveWay(_ kinds: Set<JobKind>, resting: Set<JobKind>) -> JobWorker.GiveWay {
        JobWorker.GiveWay(
            kinds: kinds,
            resting: resting,
            isNeeded: { [self] in isUnderPressure },
            restAfterRun: { [self] in window.withLock { $0.restAfterRun() } }
        )
    }
}
