import LightScopeCore
import LightScopeSystemd

/// Refreshes STATUS= with live figures every `statusInterval`.
struct StatusReporter {
    private var previousPackets: UInt64 = 0
    private var previousNanos: UInt64 = MonotonicClock.nowNanos()
    private(set) var lastText = "Starting"

    mutating func refresh(captures: CaptureSet, nowNanos: UInt64 = MonotonicClock.nowNanos()) -> String {
        let totals = StatusText.sum(captures.counterSnapshots)
        let elapsed = nowNanos > previousNanos ? nowNanos - previousNanos : 0
        let delta = totals.packets &- previousPackets
        let packetsPerSecond = elapsed > 0 ? UInt64(Double(delta) * 1e9 / Double(elapsed)) : 0
        previousPackets = totals.packets
        previousNanos = nowNanos
        lastText = StatusText.processing(totals: totals, packetsPerSecond: packetsPerSecond,
                                         capturing: captures.capturing, waitingFor: captures.waitingFor)
        return lastText
    }
}
