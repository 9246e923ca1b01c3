/// Events counted by verdict: the one tally behind the packet loops' counts (status, metrics),
/// detection's counters and replay's summary. An array indexed by `Verdict.caseIndex`, so
/// counting an event costs no hashing.
public struct VerdictCounts: Equatable, Sendable {
    @usableFromInline var counts = [UInt64](repeating: 0, count: Verdict.allCases.count)

    public init() {}

    @inlinable
    public mutating func count(_ verdict: Verdict) { counts[verdict.caseIndex] &+= 1 }

    public subscript(verdict: Verdict) -> UInt64 { counts[verdict.caseIndex] }

    public mutating func add(_ other: VerdictCounts) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
    }

    public var total: UInt64 { counts.reduce(0, &+) }

    /// The verdicts with at least one event.
    public var nonZero: [Verdict: UInt64] {
        var nonZero: [Verdict: UInt64] = [:]
        for verdict in Verdict.allCases where counts[verdict.caseIndex] > 0 { nonZero[verdict] = counts[verdict.caseIndex] }
        return nonZero
    }

    /// The verdicts with at least one event, by name: the status file's and the metrics' form.
    public var nonZeroByName: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: nonZero.map { ($0.key.rawValue, $0.value) })
    }

    /// `closed 3, unanswered 0, ...`: every verdict, in `Verdict.allCases` order.
    public var text: String {
        Verdict.allCases.map { "\($0.rawValue) \(counts[$0.caseIndex])" }.joined(separator: ", ")
    }
}
