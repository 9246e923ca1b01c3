/// When packet times run `DetectionEngine`'s timers (pending probes timing out, old
/// connections and scan windows forgotten): at the first packet at least `intervalNanos`
/// after the last run. A pure function of the packet times in order, so a caller that sees
/// every packet's time first can tell which packets the engine needs only for their time:
/// replay does not hand the engine an established-TCP packet (`PacketTriage`) unless that
/// packet's time runs the timers, and the engine's state evolves exactly as if it had seen
/// them all.
@_spi(Replay) public struct PacketDrivenTimers: Sendable {
    public static let intervalNanos: UInt64 = 100_000_000
    public private(set) var lastRunNanos: UInt64 = 0

    public init() {}

    /// Whether a packet at `timeNanos` makes the timers run (then call `ran(atNanos:)`).
    @inline(__always)
    public func areDue(atNanos timeNanos: UInt64) -> Bool {
        timeNanos &- lastRunNanos >= Self.intervalNanos && timeNanos > lastRunNanos
    }

    /// For a caller that follows the engine's timers: whether a packet at `timeNanos`, handed
    /// to the engine, makes them run; if so, they have run.
    @inline(__always)
    public mutating func runIfDue(atNanos timeNanos: UInt64) -> Bool {
        guard areDue(atNanos: timeNanos) else { return false }
        ran(atNanos: timeNanos)
        return true
    }

    /// The timers ran at `nowNanos`, driven by a packet or explicitly (`DetectionEngine.advance`).
    @inline(__always)
    public mutating func ran(atNanos nowNanos: UInt64) {
        lastRunNanos = nowNanos
    }
}
