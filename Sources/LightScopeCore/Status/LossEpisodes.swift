/// Turns loss counters that only grow into one log line when a loss begins and one when it
/// has stopped for `quietPeriod` (an episode), not a line per lost event. Pure: counts and
/// time come in, changes come out.
public struct LossEpisodes: Sendable {
    /// How long a counter must stand still before its episode is over.
    public static let quietPeriod: Duration = .seconds(30)

    private var lastCounts: [String: UInt64] = [:]
    private var open: [String: Episode] = [:]

    private struct Episode {
        var countBefore: UInt64
        var startedAtNanos: UInt64
        var lastGrowthNanos: UInt64
    }

    public enum Change: Equatable, Sendable {
        /// `name` started growing: `lost` so far in this episode.
        case began(String, lost: UInt64)
        /// `name` has not grown for `quietPeriod`: `lost` in all, over `lastingNanos`.
        case ended(String, lost: UInt64, lastingNanos: UInt64)
    }

    public init() {}

    /// Counters start at zero: a counter seen for the first time above zero begins an episode.
    public mutating func observe(_ counts: [String: UInt64], atNanos now: UInt64) -> [Change] {
        var changes: [Change] = []
        for name in counts.keys.sorted() {
            let count = counts[name]!
            let previous = lastCounts[name] ?? 0
            lastCounts[name] = count
            if count > previous {
                if open[name] != nil {
                    open[name]!.lastGrowthNanos = now
                } else {
                    open[name] = Episode(countBefore: previous, startedAtNanos: now, lastGrowthNanos: now)
                    changes.append(.began(name, lost: count - previous))
                }
            } else if let episode = open[name], now &- episode.lastGrowthNanos >= UInt64(Self.quietPeriod.nanoseconds) {
                open[name] = nil
                changes.append(.ended(name, lost: count &- episode.countBefore, lastingNanos: episode.lastGrowthNanos - episode.startedAtNanos))
            }
        }
        return changes
    }
}
