import LightScopeSystem
import Synchronization

/// A loop's proof of life. The loop calls `beat()` on every wake-up, packet or not;
/// the supervisor reads `pulse` from another thread. Lock-free, so beating costs
/// two relaxed atomic stores on the hot path.
public final class Heartbeat: Sendable {
    public let loopName: String
    private let beatCount = Atomic<UInt64>(0)
    private let lastBeatNanos: Atomic<UInt64>

    public init(loopName: String, now: UInt64 = MonotonicClock.nowNanos()) {
        self.loopName = loopName
        self.lastBeatNanos = Atomic(now)
    }

    public func beat(now: UInt64 = MonotonicClock.nowNanos()) {
        lastBeatNanos.store(now, ordering: .relaxed)
        beatCount.wrappingAdd(1, ordering: .releasing)
    }

    public var pulse: Pulse {
        Pulse(loopName: loopName,
              beatCount: beatCount.load(ordering: .acquiring),
              lastBeatNanos: lastBeatNanos.load(ordering: .relaxed))
    }

    /// A snapshot of a heartbeat, the pure input of `WatchdogPolicy`.
    public struct Pulse: Equatable, Sendable {
        public var loopName: String
        public var beatCount: UInt64
        public var lastBeatNanos: UInt64

        public init(loopName: String, beatCount: UInt64, lastBeatNanos: UInt64) {
            self.loopName = loopName
            self.beatCount = beatCount
            self.lastBeatNanos = lastBeatNanos
        }
    }
}
