/// Waits between connection attempts: doubling from `initial` up to `maximum`, each drawn at
/// random from its upper half ("equal jitter"), so a thousand hosts that lost the collector at
/// the same moment do not all return to it at the same moment.
struct FleetBackoff {
    static let initial: Duration = .seconds(1)
    let maximum: Duration
    private var failures = 0

    init(maximum: Duration) {
        self.maximum = max(maximum, Self.initial)
    }

    /// The wait before the next attempt, in nanoseconds; each call counts one more failure.
    mutating func nextDelayNanos<Generator: RandomNumberGenerator>(using generator: inout Generator) -> UInt64 {
        let ceiling = ceilingNanos
        failures += 1
        return ceiling / 2 + UInt64.random(in: 0...(ceiling - ceiling / 2), using: &generator)
    }

    mutating func nextDelayNanos() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return nextDelayNanos(using: &generator)
    }

    mutating func reset() { failures = 0 }

    /// The upper bound of the next wait: initial doubled once per failure so far, at most `maximum`.
    var ceilingNanos: UInt64 {
        let initial = UInt64(Self.initial.nanoseconds)
        let maximum = UInt64(self.maximum.nanoseconds)
        guard failures < 40 else { return maximum }
        return min(maximum, initial << UInt64(failures))
    }
}
