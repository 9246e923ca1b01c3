/// Where each aggregate of an open flood block is, by its destination port and source
/// network: open addressing in a fixed table of 2-byte slots (0 empty, else the entry's
/// position + 1), at most half full, so that a probe of a random flood (a new aggregate
/// almost every time) finds its empty slot in about one probe of a table that stays in cache
/// (4 KiB for a full block of `AggregateBlock.maximumEntries`), where a Swift Dictionary
/// hashed the key with SipHash and grew step by step. It only dedupes within its block.
///
/// Its slots are memory it does not own: `allocate` makes them, `deallocate` frees them, and
/// the open block holding it (`OpenFloodBlock`) does both. A plain pointer rather than an
/// array, so that the fold's claim of a slot is a store, without an array's uniqueness check.
struct AggregateEntryIndex {
    /// Entries a new block's index holds; a block that reaches it is re-indexed for a full
    /// block at once (a sweep of many destinations, one probe each, keeps its blocks small).
    static let small = 16
    private let slots: UnsafeMutablePointer<UInt16>
    private let mask: Int

    /// An empty index for `entries` entries (at most half full), its slots newly allocated.
    static func allocate(entries: Int) -> AggregateEntryIndex {
        precondition(entries < Int(UInt16.max))
        var size = 2
        while size < 2 * entries { size <<= 1 }
        let slots = UnsafeMutablePointer<UInt16>.allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
        return AggregateEntryIndex(slots: slots, mask: size - 1)
    }

    private init(slots: UnsafeMutablePointer<UInt16>, mask: Int) {
        self.slots = slots
        self.mask = mask
    }

    /// Frees the slots; the index is not used again.
    func deallocate() {
        slots.deallocate()
    }

    /// A block's key of an aggregate: its port above its network's `networkBits` bits (IPv4
    /// 24, IPv6 48). An IPv4 key is then the port and /24 as a block's bytes hold them.
    @inline(__always)
    static func key(port: UInt16, network: UInt64, networkBits: Int) -> UInt64 { UInt64(port) << networkBits | network }

    /// Where `key`'s search starts.
    @inline(__always)
    func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// The position of the entry in `slot`, nil when the slot is empty.
    @inline(__always)
    func position(at slot: Int) -> Int? {
        let held = slots[slot]
        return held == 0 ? nil : Int(held) - 1
    }

    /// The slot to try after `slot`.
    @inline(__always)
    func next(_ slot: Int) -> Int { (slot + 1) & mask }

    /// `slot`, found empty, now holds the entry at `position`.
    @inline(__always)
    func claim(_ slot: Int, for position: Int) {
        slots[slot] = UInt16(truncatingIfNeeded: position + 1)
    }

    /// Whether it has room for one more entry beyond `entries` without going past half full.
    @inline(__always)
    func fits(_ entries: Int) -> Bool { 2 * (entries + 1) <= mask + 1 }

    /// The empty slot for a key it does not hold.
    func emptySlot(for key: UInt64) -> Int {
        var slot = home(key)
        while position(at: slot) != nil { slot = next(slot) }
        return slot
    }

    /// Empty again, its size kept.
    func removeAll() {
        slots.update(repeating: 0, count: mask + 1)
    }
}
