/// Events counted per minute over the last hour: "events in the last hour" without
/// querying the store. Pure; the caller supplies the time.
public struct EventRateWindow: Sendable {
    static let minutes = 60
    private var buckets = [UInt64](repeating: 0, count: minutes)
    private var bucketMinutes = [UInt64](repeating: .max, count: minutes)

    public init() {}

    public mutating func add(_ count: UInt64 = 1, atNanos nanos: UInt64) {
        let minute = nanos / 60_000_000_000
        let index = Int(minute % UInt64(Self.minutes))
        if bucketMinutes[index] != minute {
            bucketMinutes[index] = minute
            buckets[index] = 0
        }
        buckets[index] &+= count
    }

    /// Events in the 60 minutes up to `nanos` (minute resolution).
    public func lastHour(atNanos nanos: UInt64) -> UInt64 {
        let now = nanos / 60_000_000_000
        var total: UInt64 = 0
        for index in 0..<Self.minutes where bucketMinutes[index] != .max && bucketMinutes[index] <= now
            && now - bucketMinutes[index] < UInt64(Self.minutes) {
            total &+= buckets[index]
        }
        return total
    }
}
