public import Foundation
internal import Synchronization

/// The emulator's idea of "now": wall-clock time plus an adjustable offset, or a frozen
/// instant. Tests use it to jump past the messaging windows ("now + 24 h 1 m") and to make
/// the per-second rate limit deterministic. Webhook timestamps come from it too.
public final class EmulatorClock: Sendable {
    private enum Mode {
        case live(offset: TimeInterval)
        case frozen(Date)
    }

    private let mode: Mutex<Mode>

    /// Live time with no offset.
    public init() { mode = Mutex(.live(offset: 0)) }

    /// Frozen at `date` until `resume()`.
    public init(frozenAt date: Date) { mode = Mutex(.frozen(date)) }

    public var now: Date {
        mode.withLock {
            switch $0 {
            case .live(let offset): Date().addingTimeInterval(offset)
            case .frozen(let date): date
            }
        }
    }

    /// Milliseconds since 1970, as webhooks carry them.
    public var nowMilliseconds: Int64 { Int64((now.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Moves time forward (or back, with a negative value), live or frozen.
    public func advance(by seconds: TimeInterval) {
        mode.withLock {
            switch $0 {
            case .live(let offset): $0 = .live(offset: offset + seconds)
            case .frozen(let date): $0 = .frozen(date.addingTimeInterval(seconds))
            }
        }
    }

    /// Sets the live offset from wall-clock time.
    public func setOffset(_ seconds: TimeInterval) {
        mode.withLock { $0 = .live(offset: seconds) }
    }

    /// Stops time at its current value (or at `date`).
    public func freeze(at date: Date? = nil) {
        let value = date ?? now
        mode.withLock { $0 = .frozen(value) }
    }

    /// Lets time run again from where it stands.
    public func resume() {
        let value = now
        mode.withLock { $0 = .live(offset: value.timeIntervalSinceNow) }
    }
}
