import LightScopeCore

/// Refreshes STATUS= with live figures every `statusInterval`.
struct StatusReporter {
    private var previousPackets: [String: UInt64] = [:]
    private var previousNanos: UInt64
    private(set) var lastText = "Starting"
    /// Per interface, over the last status interval.
    private(set) var packetsPerSecond: [String: UInt64] = [:]

    init(startNanos: UInt64) {
        previousNanos = startNanos
    }

    mutating func refresh(captures: CaptureSet, nowNanos: UInt64) -> String {
        let snapshots = captures.counterSnapshots
        let totals = StatusText.sum(snapshots)
        let elapsed = nowNanos > previousNanos ? nowNanos - previousNanos : 0
        for counters in snapshots {
            let delta = counters.packets &- (previousPackets[counters.interfaceName] ?? 0)
            packetsPerSecond[counters.interfaceName] = elapsed > 0 ? UInt64(Double(delta) * 1e9 / Double(elapsed)) : 0
            previousPackets[counters.interfaceName] = counters.packets
        }
        previousNanos = nowNanos
        lastText = StatusText.processing(totals: totals, packetsPerSecond: packetsPerSecond.values.reduce(0, +),
                                         capturing: captures.capturing, waitingFor: captures.waitingFor)
        return lastText
    }
}
