/// A token bucket for log lines: `ratePerSecond` lines a second on average, bursts of up to
/// `burst`. Keeps a flood of events from flooding the journal, whose own per-service rate
/// limit would otherwise also swallow the daemon's watchdog and error lines. Pure.
public struct LineBudget: Sendable {
    public let ratePerSecond: Int
    public let burst: Int
    private var tokens: Double
    private var lastNanos: UInt64?
    /// Lines refused since the last `takeSuppressed()`.
    public private(set) var suppressed: UInt64 = 0

    public init(ratePerSecond: Int, burst: Int) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
        tokens = Double(burst)
    }

    /// True if a line may be written now; otherwise it is counted as suppressed.
    public mutating func take(atNanos now: UInt64) -> Bool {
        if let last = lastNanos, now > last {
            tokens = min(Double(burst), tokens + Double(now - last) / 1e9 * Double(ratePerSecond))
        }
        lastNanos = now
        guard tokens >= 1 else {
            suppressed &+= 1
            return false
        }
        tokens -= 1
        return true
    }

    /// How many of `count` lines may be written now: what `count` calls of `take` at the same
    /// time would admit, in one step (a flood block's aggregates); the rest are suppressed.
    public mutating func take(upTo count: Int, atNanos now: UInt64) -> Int {
        if let last = lastNanos, now > last {
            tokens = min(Double(burst), tokens + Double(now - last) / 1e9 * Double(ratePerSecond))
        }
        lastNanos = now
        let admitted = max(0, min(count, Int(tokens)))
        tokens -= Double(admitted)
        suppressed &+= UInt64(count - admitted)
        return admitted
    }

    public mutating func takeSuppressed() -> UInt64 {
        defer { suppressed = 0 }
        return suppressed
    }
}
