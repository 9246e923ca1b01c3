/// What the engine's timers (probes timing out, connections and scan windows forgotten)
/// run on.
public enum DetectionClock: Sendable {
    /// The capture's own timestamps: replay, where the file is the clock.
    case captureTime
    /// The monotonic clock: live capture, where a step of the wall clock (which stamps the
    /// packets) must neither freeze expiry (a step back) nor expire everything at once (a
    /// step forward).
    case monotonic
}

/// Maps capture timestamps onto the timers' clock, and back, so that timers follow the
/// monotonic clock while events keep their capture times.
///
/// With `.monotonic`, the timers' clock is the capture time plus a correction: zero at
/// first, changed by every step of the wall clock against the monotonic one (seen at each
/// `observe`), so that it runs on without a jump. Each correction is a generation; a
/// pending probe keeps the generation it was captured in (in its record's mark), and its
/// event gets its capture time back exactly. Packets captured just before a step but
/// handled after it carry the old clock's times: each packet takes the generation, current
/// or previous, that puts it nearer the clock's last reading.
///
/// With `.captureTime` the two are the same and nothing is corrected.
struct CaptureTimeline {
    let clock: DetectionClock
    /// A change of the wall clock against the monotonic one beyond this is a step; below,
    /// it is slewing (NTP), which the capture times simply follow.
    static let stepToleranceNanos: Int64 = 500_000_000
    /// Generations before one is reused: a probe waits at most `syn_answer_timeout`, in
    /// which 255 steps of the clock do not happen.
    static let generations = 255

    private var corrections = [Int64](repeating: 0, count: CaptureTimeline.generations)
    private(set) var generation: UInt8 = 0
    private var previous: UInt8?
    private var referenceSkew: Int64?
    /// The timers' clock at the last `observe`.
    private var lastClockNanos: UInt64 = 0

    init(clock: DetectionClock) {
        self.clock = clock
    }

    /// A packet captured at `captureNanos`: its time on the timers' clock, and its generation.
    @inline(__always)
    func clockTime(ofCapture captureNanos: UInt64) -> (nanos: UInt64, generation: UInt8) {
        guard clock == .monotonic else { return (captureNanos, 0) }
        let current = Self.corrected(captureNanos, by: corrections[Int(generation)])
        guard let previous else { return (current, generation) }
        let earlier = Self.corrected(captureNanos, by: corrections[Int(previous)])
        let nearer = Self.distance(earlier, lastClockNanos) < Self.distance(current, lastClockNanos)
        return nearer ? (earlier, previous) : (current, generation)
    }

    /// The capture time of a time on the timers' clock, in its generation.
    @inline(__always)
    func captureTime(ofClock nanos: UInt64, generation: UInt8) -> UInt64 {
        guard clock == .monotonic else { return nanos }
        return Self.corrected(nanos, by: -corrections[Int(generation)])
    }

    /// Reads both clocks (live capture, on every wake-up): a step of the wall clock starts
    /// a new generation. Returns the timers' clock now.
    mutating func observe(monotonicNanos: UInt64, wallClockNanos: UInt64) -> UInt64 {
        let skew = Int64(bitPattern: wallClockNanos &- monotonicNanos)
        if let referenceSkew {
            let step = skew &- referenceSkew
            if step > Self.stepToleranceNanos || step < -Self.stepToleranceNanos {
                let next = Int(generation) + 1 == Self.generations ? 0 : generation + 1
                corrections[Int(next)] = corrections[Int(generation)] &- step
                previous = generation
                generation = next
            }
        }
        referenceSkew = skew
        lastClockNanos = Self.corrected(wallClockNanos, by: corrections[Int(generation)])
        return lastClockNanos
    }

    @inline(__always)
    private static func corrected(_ nanos: UInt64, by correction: Int64) -> UInt64 {
        correction >= 0 ? nanos &+ UInt64(correction) : (nanos >= correction.magnitude ? nanos - correction.magnitude : 0)
    }

    @inline(__always)
    private static func distance(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : b - a }
}
