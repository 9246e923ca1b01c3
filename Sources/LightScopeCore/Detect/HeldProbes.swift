/// The newest IPv4 probes, kept out of the pending table while their answer may still come
/// at once. A SYN to a listening port is answered within microseconds, a few packets on:
/// in the table, each such probe cost an insert and a removal (two writes to a random index
/// bucket) for nothing.
///
/// What keeps every verdict (`DetectionCore+HeldProbes`): held probes are newer than every
/// probe in the table and go into it oldest first, each with its own first-seen time, when
/// this ring is full, before a timer run or the end, and before any insert the table must
/// see after them. A probe is held only while the table's clock holds its time and the table
/// has room for it and every other held probe without growing or evicting. So the table's
/// contents and order, its growth, evictions and clock, and every event are those of
/// inserting each probe at once; an answer or a retransmission looks here first.
///
/// Holding pays only when answers come: a flood of unanswered SYNs would go through the ring
/// for nothing. So `mayHold` keeps a credit, up for every held probe answered and down for
/// every one sent on to the table; without credit it holds one probe in `sampleEvery`, to
/// notice when answers come again. Which probes are held changes no verdict.
///
/// A ring of `capacity` records, found through a map of `mapSlots` one-byte slots (a live
/// held probe's ring slot + 1, or 0): one cache line, so that the lookup of an answer whose
/// probe is not held costs one load.
final class HeldProbes {
    /// Enough for the answers that follow their SYN within a few packets; few enough that the
    /// ring stays in the cache beside the map.
    static let defaultCapacity = 32
    static let mapSlots = 64
    /// How many it holds at most: a power of two up to `mapSlots / 2`, or 0 to hold none
    /// (the tests' reference: every probe to the table at once).
    let capacity: Int
    private let ringMask: Int

    private let records: UnsafeMutablePointer<PendingIPv4Probe>
    private let firstSeen: UnsafeMutablePointer<UInt64>
    private let map: UnsafeMutablePointer<UInt8>
    /// The ring's oldest slot, and how many slots from it are in use (held or answered).
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private var used = 0
    /// Probes held.
    @exclusivity(unchecked) private(set) var count = 0
    /// Answers found here lately, against probes sent on unanswered (see `mayHold`).
    @exclusivity(unchecked) private var credit: Int
    /// Probes not held for want of credit (from 1), counted in steps of 1, or of 0 when
    /// nothing is held (`capacity` 0): then never a multiple of `sampleEvery`.
    @exclusivity(unchecked) private var notHeld: UInt32 = 1
    private let notHeldStep: UInt32
    static let startingCredit = 16
    static let creditPerAnswer = 4
    static let creditRange = -16...64
    static let sampleEvery: UInt32 = 64

    init(capacity: Int = HeldProbes.defaultCapacity) {
        precondition(capacity == 0 || (capacity & (capacity - 1) == 0 && capacity <= Self.mapSlots / 2))
        self.capacity = capacity
        credit = capacity == 0 ? Self.creditRange.lowerBound : Self.startingCredit
        notHeldStep = capacity == 0 ? 0 : 1
        ringMask = max(0, capacity - 1)
        records = .allocate(capacity: max(1, capacity))
        firstSeen = .allocate(capacity: max(1, capacity))
        map = .allocate(capacity: Self.mapSlots)
        map.initialize(repeating: 0, count: Self.mapSlots)
    }

    deinit {
        records.deallocate()
        firstSeen.deallocate()
        map.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Whether to hold the next new probe: while held probes are answered, or one in
    /// `sampleEvery` otherwise.
    @inline(__always)
    func mayHold() -> Bool {
        if credit > 0 { return true }
        notHeld &+= notHeldStep
        return notHeld % Self.sampleEvery == 0
    }

    var isFull: Bool { used == capacity }

    /// The map slot of `key`: a multiplicative hash of its words (a collision only sends a
    /// probe to the table earlier).
    @inline(__always)
    private static func mapSlot(_ key: IPv4ProbeKey) -> Int {
        Int(truncatingIfNeeded: ((key.remote ^ key.local ^ key.ports) &* 0x9E37_79B1) >> 26)
    }

    /// The ring slot of the held probe of `key`, if any.
    @inline(__always)
    func find(_ key: IPv4ProbeKey) -> Int? {
        guard let slot = occupant(of: key) else { return nil }
        let record = records[slot]
        guard record.remote == key.remote, record.ports == key.ports, record.local == key.local else { return nil }
        return slot
    }

    /// The ring slot of the held probe in `key`'s map slot, whatever its key.
    @inline(__always)
    func occupant(of key: IPv4ProbeKey) -> Int? {
        let entry = map[Self.mapSlot(key)]
        return entry == 0 ? nil : Int(truncatingIfNeeded: entry &- 1)
    }

    /// One more packet of the held probe in `slot` (a retransmitted SYN).
    @inline(__always)
    func countPacket(at slot: Int) { records[slot].counts.countPacket() }

    /// Holds `record` (live, its `key` not held), first seen at `firstSeenNanos`. The ring
    /// must not be full, and `key`'s map slot must be free.
    @inline(__always)
    func hold(_ record: PendingIPv4Probe, firstSeenNanos: UInt64) {
        let slot = (head &+ used) & ringMask
        records[slot] = record
        firstSeen[slot] = firstSeenNanos
        map[Self.mapSlot(record.key)] = UInt8(truncatingIfNeeded: slot &+ 1)
        used &+= 1
        count &+= 1
    }

    /// Takes the held probe in `slot` out (it was answered), with its first-seen time.
    @inline(__always)
    func take(at slot: Int) -> (record: PendingIPv4Probe, firstSeenNanos: UInt64) {
        let record = records[slot]
        map[Self.mapSlot(record.key)] = 0
        records[slot].stamp.mark = 0
        count &-= 1
        credit = min(credit &+ Self.creditPerAnswer, Self.creditRange.upperBound)
        // Answered slots at either end leave the ring (the commonest case: the newest).
        while used > 0, records[(head &+ used &- 1) & ringMask].stamp.mark == 0 { used &-= 1 }
        while used > 0, records[head].stamp.mark == 0 {
            head = (head &+ 1) & ringMask
            used &-= 1
        }
        return (record, firstSeen[slot])
    }

    /// Takes the oldest held probe out (for the table), with its first-seen time and the ring
    /// slot it left; nil if none.
    @inline(__always)
    func takeOldest() -> (record: PendingIPv4Probe, firstSeenNanos: UInt64, slot: Int)? {
        while used > 0 {
            let slot = head
            head = (head &+ 1) & ringMask
            used &-= 1
            let record = records[slot]
            if record.stamp.mark != 0 {
                map[Self.mapSlot(record.key)] = 0
                count &-= 1
                credit = max(credit &- 1, Self.creditRange.lowerBound)
                return (record, firstSeen[slot], slot)
            }
        }
        return nil
    }
}
