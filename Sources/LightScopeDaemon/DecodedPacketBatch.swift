import LightScopeCore

/// The decoded packets of one ring drain, held back until the drain ends (or the batch is
/// full) and then handed to the engine in order, each packet's table lookups started
/// `prefetchDistance` packets before it is processed (`DetectionEngine.prefetch`).
///
/// Why: under a flood nearly every packet's lookup is a cache and TLB miss in a table of up
/// to a million entries (the pending probes' index on a SYN, the connections' on a SYN-ACK),
/// and a packet loop that handles one packet at a time waits out each miss in turn. Started
/// a few packets ahead, the misses overlap, as in replay. The engine sees the same packets
/// in the same order with the same times, so no verdict changes; they come at most one drain
/// later, and before the loop's next tick.
///
/// Plain memory, made once at its full size: a packet is a small value with no heap storage
/// (`DecodedPacket`), so holding one costs a copy and no retain or allocation.
final class DecodedPacketBatch {
    /// The most packets held back: enough that a drain's misses overlap, few enough that the
    /// batch stays in the core's cache while it is worked through.
    static let capacity = 256
    /// How many packets ahead of the one processed its lookups start: enough for several
    /// misses to be in flight, few enough that what they load is still cached when reached.
    static let prefetchDistance = 16

    private let packets: UnsafeMutablePointer<DecodedPacket>
    private let times: UnsafeMutablePointer<UInt64>
    private(set) var count = 0

    init() {
        packets = .allocate(capacity: Self.capacity)
        times = .allocate(capacity: Self.capacity)
    }

    deinit {
        packets.deinitialize(count: count)
        packets.deallocate()
        times.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Where the next packet goes, for the decoder to write it in place (then `commit`): a
    /// decoded packet handed to `append` was copied once more, 112 bytes a packet. Not held
    /// until committed; a drain leaves it alone.
    var nextSlot: UnsafeMutablePointer<DecodedPacket> { packets + count }

    /// Holds the packet written to `nextSlot`; returns whether the batch is now full.
    @inline(__always)
    func commit(timeNanos: UInt64) -> Bool {
        times[count] = timeNanos
        count &+= 1
        return count == Self.capacity
    }

    /// Hands every packet held to `process`, oldest first, after starting the lookups of the
    /// one `prefetchDistance` on with `prefetch` (handed its slot: no copy); leaves the batch empty.
    @inline(__always)
    func drain(prefetch: (UnsafePointer<DecodedPacket>) -> Void, process: (DecodedPacket, UInt64) -> Void) {
        let held = count
        // Nothing can be held again while the batch is worked through (the loop's thread
        // is in here), but empty it first all the same.
        count = 0
        for index in 0..<min(held, Self.prefetchDistance) { prefetch(packets + index) }
        for index in 0..<held {
            let ahead = index &+ Self.prefetchDistance
            if ahead < held { prefetch(packets + ahead) }
            process(packets[index], times[index])
        }
        packets.deinitialize(count: held)
    }
}
