/// Events counted by verdict: the one tally behind the packet loops' counts (status, metrics),
/// detection's counters and replay's summary. Indexed by `Verdict.caseIndex`, so counting an
/// event costs no hashing; inline, not an array, so it costs no uniqueness check of a buffer
/// either (every judged probe of a flood is counted twice on its packet loop).
public struct VerdictCounts: Equatable, Sendable {
    /// One count per verdict, `Verdict.allCases.count` of them (VerdictCountsTests).
    @usableFromInline var counts = InlineArray<7, UInt64>(repeating: 0)

    public init() {}

    public static func == (lhs: VerdictCounts, rhs: VerdictCounts) -> Bool {
        lhs.counts.indices.allSatisfy { lhs.counts[$0] == rhs.counts[$0] }
    }

    @inlinable
    public mutating func count(_ verdict: Verdict) { counts[verdict.caseIndex] &+= 1 }

    public subscript(verdict: Verdict) -> UInt64 { counts[verdict.caseIndex] }

    public mutating func add(_ other: VerdictCounts) {
        for index in counts.indices { counts[index] &+= other.counts[index] }
    }

    public var total: UInt64 { counts.indices.reduce(0) { $0 &+ counts[$1] } }

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
