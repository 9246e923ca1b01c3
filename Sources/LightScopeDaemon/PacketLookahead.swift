import LightScopeCore

/// The last few decoded packets, held back in order so that `DetectionEngine.prefetch` can
/// start each one's table lookups a few packets before `process` makes them: the tables
/// outgrow the cache under a scan, and overlapping the misses of several packets is what
/// holding them back buys. Packets still reach the engine one by one, in file order.
/// A packet that was not decoded (`PacketTriage`) is held as nil: only its time matters,
/// and it must reach the engine in order too.
///
/// A ring in raw memory (no array bounds or uniqueness checks: this runs per packet), so
/// its owner calls `deallocate` when done.
struct PacketLookahead {
    /// A power of two; room for the undecoded packets between the decoded ones too.
    static let depth = 16
    typealias Entry = (packet: DecodedPacket?, timeNanos: UInt64)
    private let slots = UnsafeMutablePointer<Entry>.allocate(capacity: PacketLookahead.depth)
    private var head = 0
    private var count = 0

    /// Holds `packet` back; once `depth` are held, returns the oldest, now due.
    mutating func push(_ packet: DecodedPacket?, timeNanos: UInt64) -> Entry? {
        if count == Self.depth {
            let due = (slots + head).move()
            (slots + head).initialize(to: (packet, timeNanos))
            head = (head + 1) & (Self.depth - 1)
            return due
        }
        (slots + ((head + count) & (Self.depth - 1))).initialize(to: (packet, timeNanos))
        count += 1
        return nil
    }

    /// The oldest packet held back, at the end of the file.
    mutating func pop() -> Entry? {
        guard count > 0 else { return nil }
        let due = (slots + head).move()
        head = (head + 1) & (Self.depth - 1)
        count -= 1
        return due
    }

    /// Drops whatever is still held and frees the ring.
    mutating func deallocate() {
        while pop() != nil {}
        slots.deallocate()
    }
}
