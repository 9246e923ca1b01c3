/// Lets a repeating error through at most once per interval, counting the ones it held back,
/// so a full disk yields one clear line a minute instead of one per event.
struct ErrorThrottle {
    let intervalNanos: UInt64
    private var lastReportNanos: UInt64?
    private var suppressed = 0

    init(interval: Duration) {
        intervalNanos = UInt64(interval.components.seconds) * 1_000_000_000
            + UInt64(interval.components.attoseconds / 1_000_000_000)
    }

    /// nil: hold this one back. Otherwise: report it; the value is how many were held back before.
    mutating func admit(nowNanos: UInt64) -> Int? {
        if let last = lastReportNanos, nowNanos &- last < intervalNanos {
            suppressed += 1
            return nil
        }
        defer { suppressed = 0 }
        lastReportNanos = nowNanos
        return suppressed
    }

    /// The problem is over: the next one is reported at once.
    mutating func reset() {
        lastReportNanos = nil
        suppressed = 0
    }
}
