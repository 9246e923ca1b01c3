/// What a capture loop hands its packets to. One consumer per loop, called only from
/// that loop's thread, so it needs no locks.
public protocol PacketConsumer: AnyObject {
    /// One captured packet. `bytes` is only valid during the call (it points into the
    /// kernel ring): copy nothing you do not need.
    func consume(bytes: UnsafeRawBufferPointer, wireLength: Int, timestampNanos: UInt64, linkType: Int32)
    /// The end of one ring drain (one `pcap_dispatch` call): a consumer that holds packets
    /// back to work on several at once finishes them now, before the loop beats or ticks.
    func dispatchEnded()
    /// Called on every wake-up, packets or not, so timers run on a quiet network.
    func tick(monotonicNanos: UInt64, wallClockNanos: UInt64)
    /// The loop is closing its handle: report or persist whatever is pending. Calls `beat`
    /// as it goes, so that a long flush shows progress rather than a hang.
    func flush(wallClockNanos: UInt64, beat: () -> Void)
}

extension PacketConsumer {
    /// A consumer that handles each packet as it comes has nothing to finish.
    public func dispatchEnded() {}
}
