/// How long a packet loop lets its ring fill before draining it again under a flood,
/// instead of sleeping in poll() until the kernel hands over the next block.
///
/// Why: each sleep and wake-up of a thread costs it 20-35 us of CPU on the virtual machines
/// the benchmarks run on (poll, the scheduler, the caches and TLB it comes back to), as much as
/// the detection of some 200 packets. The kernel hands the ring over a block at a time
/// (TPACKET_V3; libpcap's blocks are 256 KiB, some 1,600 small packets), so a loop that polls
/// after each drain wakes once a block under a flood: about 15 ns a packet in wake-ups alone.
///
/// Once a wake-up has found at least a whole block and emptied the ring, the ring is busy: the
/// loop then waits (for its stop pipe only) until a quarter of the ring has filled at the rate
/// it just measured, at most `longestPauseNanos`, and drains that in one wake-up. The other
/// three quarters take a burst of four times that rate before the kernel drops a packet (and
/// drops are counted as ever). Below a block a wake-up, the kernel's read timeout and the
/// blocks themselves pace the loop less often than a pause would: it polls as before. The
/// engine sees the same packets in the same order with the same times; they reach it at most
/// one pause later.
struct FloodPacing {
    /// The ring's size in bytes (`PacketSource.ringBytes`); 0 for a source without a ring,
    /// which is never paced.
    let ringBytes: Int
    /// What the kernel puts in the ring besides a packet's captured bytes, about: its
    /// TPACKET_V3 header and link address (68 bytes) padded to the network header's 16-byte
    /// alignment (82 before an Ethernet frame), and the frame's own alignment.
    static let frameOverheadBytes: UInt64 = 96
    /// A TPACKET_V3 block as libpcap sizes it (for a 256 KiB frame): what a wake-up must have
    /// found for the ring to count as busy.
    static let blockBytes: UInt64 = 256 * 1024
    /// The share of the ring a pause lets fill at the rate measured: a quarter.
    static let ringSharePerPause: UInt64 = 4
    /// The longest pause: the timers (`PacketConsumer.tick`) and the engine hear of the
    /// packets at most this late.
    static let longestPauseNanos: UInt64 = 25_000_000
    /// The shortest pause worth a wake-up of its own (poll counts in milliseconds): a ring
    /// that fills faster is read as soon as a block is ready.
    static let shortestPauseNanos: UInt64 = 1_000_000

    init(ringBytes: Int) {
        self.ringBytes = ringBytes
    }

    /// The pause before the next drain, in nanoseconds (0: poll the ring as usual), after a
    /// wake-up that drained `packets` packets of `capturedBytes` bytes `elapsedNanos` after the
    /// previous wake-up; `emptied` says whether the ring was left empty. At most `limitNanos`
    /// (the loop's own wake interval).
    func pauseNanos(packets: UInt64, capturedBytes: UInt64, elapsedNanos: UInt64, emptied: Bool,
                    limitNanos: UInt64) -> UInt64 {
        // A ring left holding packets is read again at once (poll returns at once).
        guard ringBytes > 0, emptied, elapsedNanos > 0 else { return 0 }
        let ringBytesDrained = capturedBytes &+ packets &* Self.frameOverheadBytes
        guard ringBytesDrained >= Self.blockBytes else { return 0 }
        let share = UInt64(ringBytes) / Self.ringSharePerPause
        // share / (ringBytesDrained / elapsedNanos), without the rate's rounding; both factors
        // are far below 2^32 (a ring of GiBs, seconds) in any real case.
        let (product, overflow) = share.multipliedReportingOverflow(by: elapsedNanos)
        let pause = min(overflow ? Self.longestPauseNanos : product / ringBytesDrained, Self.longestPauseNanos, limitNanos)
        return pause >= Self.shortestPauseNanos ? pause : 0
    }
}
