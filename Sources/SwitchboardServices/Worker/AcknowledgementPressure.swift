public import SwitchboardCore
import Synchronization

/// Whether webhook acknowledgements have been slow lately, so that the worker gives way to
/// them (see ``JobWorker/GiveWay``).
///
/// Meta gives up on a webhook after 20 s and expects an answer well under one; applying a
/// stored webhook may wait. When `serve` and its database cannot do both, the worker's runs
/// took the CPU the acknowledgements needed and they slowed to seconds (docs/ingest.md,
/// session 12). An acknowledgement slower than ``Window/threshold`` marks the next
/// ``Window/hold`` as under pressure, and the time lasts until the worker's rests have come
/// back down to none: it does not spring back the moment acknowledgements recover because
/// it gave way, and once webhooks stop coming a backlog drains at full speed soon after. A
/// slow disk at light load also trips it; the worker then runs one ingest run at a time,
/// which at light load is all it needs.
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
        /// Whether any webhook was acknowledged since the last run ended.
        private var acknowledgedSinceRun = false
        /// When the last webhook was acknowledged.
        private var lastAcknowledged: ContinuousClock.Instant?

        /// The rest per unit of run time never exceeds this: the worker keeps a fifth of
        /// its pace however slow acknowledgements are, so a backlog still drains.
        public static let longestRest = 4.0
        /// The rest when a time under pressure begins: as long as the run. Starting from
        /// none, the first runs of every such time held acknowledgements up while the rest
        /// doubled to what they tolerate (docs/ingest.md, session 16).
        public static let firstRest = 1.0
        /// A run that saw a slow acknowledgement rests at least this, else twice the last.
        public static let shortestSlowedRest = 0.5
        /// A run that saw none rests this much less than the last, down to none. Small,
        /// so that the worker probes its way back to full pace over many runs: lowered a
        /// quarter at a time, the rest reached none every few seconds and each time the
        /// acknowledgements paid for it with a burst of slow ones.
        public static let restDecrease = 1.0 / 16
        /// Webhooks are arriving while the last was acknowledged less than this ago.
        public static let arrivalGap = Duration.seconds(1)

        public init(threshold: Duration, hold: Duration) {
            self.threshold = threshold
            self.hold = hold
        }

        /// Returns true when this acknowledgement begins a time under pressure, whose rests
        /// start over from ``firstRest``.
        @discardableResult
        public mutating func record(_ latency: Duration, at now: ContinuousClock.Instant) -> Bool {
            acknowledgedSinceRun = true
            lastAcknowledged = now
            guard latency > threshold else { return false }
            slowSinceRun = true
            defer { until = now + hold }
            guard !isUnderPressure(at: now) else { return false }
            restPerRun = Self.firstRest
            return true
        }

        /// Under pressure for ``hold`` after a slow acknowledgement, and after that until
        /// the rests have come down to none. Calm acknowledgements while the worker rests
        /// are the rests' doing: ended by the hold alone, a time under pressure gave the
        /// worker back its full pace with a backlog, and its runs side by side brought the
        /// slow acknowledgements straight back (docs/ingest.md, session 16).
        public func isUnderPressure(at now: ContinuousClock.Instant) -> Bool {
            until.map { now < $0 || restPerRun > 0 } ?? false
        }

        /// Whether the worker gives way: under pressure, and also whenever webhooks are
        /// arriving (one acknowledged within ``arrivalGap``), however fast. Then ingest runs
        /// one run at a time, each in one transaction, with rests only under pressure.
        /// Runs side by side are for draining a backlog once webhooks stop: started at full
        /// pace while they came, they held acknowledgements up for a second or more before
        /// the first slow one could say so, since the worker's lowered threads make a run
        /// last seconds on a busy machine (docs/ingest.md, session 16).
        public func givesWay(at now: ContinuousClock.Instant) -> Bool {
            isUnderPressure(at: now) || lastAcknowledged.map { now - $0 < Self.arrivalGap } ?? false
        }

        /// After a run that gave way: its rest, per unit of its time. Doubled (at least to
        /// ``shortestSlowedRest``) when an acknowledgement was slow since the last run
        /// ended; none when no webhook came at all (nothing to give way to: the backlog of
        /// a burst that has ended drains at full pace); else lowered by ``restDecrease``.
        /// The worker finds the pace the acknowledgements tolerate instead of a fixed one,
        /// which either held them up or left a backlog the machine had time for
        /// (docs/ingest.md, sessions 15 and 16).
        public mutating func restAfterRun() -> Double {
            switch (slowSinceRun, acknowledgedSinceRun) {
            case (true, _): restPerRun = min(Self.longestRest, max(Self.shortestSlowedRest, restPerRun * 2))
            case (false, false): restPerRun = 0
            case (false, true): restPerRun = max(0, restPerRun - Self.restDecrease)
            }
            slowSinceRun = false
            acknowledgedSinceRun = false
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

    /// See ``Window/givesWay(at:)``.
    public var givesWay: Bool {
        let now = ContinuousClock.now
        return window.withLock { $0.givesWay(at: now) }
    }

    /// The worker's side: runs of `kinds` give way while webhooks arrive, and those of
    /// `resting` are followed by rests while acknowledgements are slow (see
    /// ``JobWorker/GiveWay``).
    public func giveWay(_ kinds: Set<JobKind>, resting: Set<JobKind>, runLength: Int) -> JobWorker.GiveWay {
        JobWorker.GiveWay(
            kinds: kinds,
            resting: resting,
            runLength: runLength,
            isNeeded: { [self] in givesWay },
            handsOver: { [self] in !isUnderPressure },
            restAfterRun: { [self] in window.withLock { $0.restAfterRun() } }
        )
    }
}
