/// A clock reading the tests move by hand.
struct ManualInstant: InstantProtocol, Sendable, Hashable, Comparable {
    var offset: Duration

    static let zero = ManualInstant(offset: .zero)

    func advanced(by duration: Duration) -> ManualInstant { ManualInstant(offset: offset + duration) }
    func duration(to other: ManualInstant) -> Duration { other.offset - offset }
    static func < (lhs: ManualInstant, rhs: ManualInstant) -> Bool { lhs.offset < rhs.offset }
}

extension ManualInstant {
    static func ms(_ value: Int) -> ManualInstant { ManualInstant(offset: .milliseconds(value)) }
}
