#if canImport(Glibc)
import Glibc
#endif
import CPrefetch

/// An open-addressing hash table with linear probing and backward-shift deletion (no
/// tombstones), keyed by `FastHashKey`'s seeded hash: what per-packet and per-event lookups
/// (local addresses, replay's tallies) use instead of `Dictionary`, whose SipHash costs more
/// than everything else a packet does. (The detection tables, which expire, are
/// `ExpiringTable`s over an `EntryIndex` with the same hash.)
///
/// Laid out for the cache, because a miss costs more than the rest of a packet's work:
/// - each key lives next to its value in one slot, so a lookup that finds its key touches
///   one slot, not a key array and then a value array;
/// - a separate array of one control byte per bucket (0 for empty, else `0x80` | seven bits
///   of the hash) is what a probe sequence reads first; a slot is only read when its tag
///   matches, so a miss or a collision usually costs a byte, not a slot.
///
/// The bucket count is a power of two, doubled as the table fills and never beyond the
/// smallest power of two that holds `maximumCount` at a load factor of 3/4; inserting more
/// than `maximumCount` keys is a programming error (callers evict first). Each table has its
/// own random `FastHashSeed` (see there for why that matters to an attacker). The storage
/// is copy-on-write, like the standard collections.
@usableFromInline package struct FastHashTable<Key: FastHashKey, Value> {
    @usableFromInline var storage: Storage
    @usableFromInline let seed: FastHashSeed
    @usableFromInline package let maximumCount: Int

    @usableFromInline package struct Slot {
        @usableFromInline package var key: Key
        @usableFromInline package var value: Value

        @inlinable package init(key: Key, value: Value) { (self.key, self.value) = (key, value) }
    }

    /// Bucket count when first made (or fewer, if `maximumCount` needs fewer); it doubles from there.
    @inlinable package static var initialBuckets: Int { 1024 }

    /// Buckets that `maximumCount` keys need at a load factor of at most 3/4.
    @inlinable package static func buckets(forMaximumCount maximumCount: Int) -> Int {
        var buckets = 8
        while buckets / 4 * 3 < maximumCount { buckets *= 2 }
        return buckets
    }

    @inlinable package init(maximumCount: Int, seed: FastHashSeed = .random()) {
        precondition(maximumCount > 0)
        self.maximumCount = maximumCount
        self.seed = seed
        storage = Storage(buckets: Self.firstBucketCount(maximumCount: maximumCount))
    }

    @inlinable static func firstBucketCount(maximumCount: Int) -> Int {
        min(initialBuckets, buckets(forMaximumCount: maximumCount))
    }

    @inlinable package var count: Int { storage.count }
    @inlinable package var isEmpty: Bool { storage.count == 0 }
    /// Current bucket count (grows by doubling).
    @inlinable package var bucketCount: Int { storage.mask + 1 }

    /// The table's hash of `key`: its home bucket comes from the low bits, its tag from the top seven.
    @inline(__always)
    @inlinable func hash(_ key: Key) -> UInt64 { key.hash(seed: seed) }

    @inline(__always)
    @inlinable static func tag(_ hash: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: hash >> 57) | 0x80 }

    /// The slot holding `key`, if present.
    @inline(__always)
    @inlinable package func index(of key: Key) -> Int? {
        let (index, found) = bucket(of: key, hash: hash(key))
        return found ? index : nil
    }

    /// The one probe: the bucket holding `key` (found), or the empty bucket that ends its
    /// run, where it would go.
    @inline(__always)
    @inlinable func bucket(of key: Key, hash: UInt64) -> (index: Int, found: Bool) {
        let tag = Self.tag(hash)
        let storage = storage
        var index = Int(truncatingIfNeeded: hash) & storage.mask
        while true {
            let control = storage.control[index]
            if control == 0 { return (index, false) }
            if control == tag, storage.slots[index].key == key { return (index, true) }
            index = (index &+ 1) & storage.mask
        }
    }

    /// Puts an absent key in the empty bucket its probe ended at, or, when the table must
    /// grow first, wherever the grown table puts it; returns its slot.
    @inline(__always)
    @inlinable mutating func insertAbsent(_ slot: Slot, hash: UInt64, at index: Int) -> Int {
        precondition(storage.count < maximumCount, "FastHashTable over its maximum count")
        if (storage.count + 1) * 4 > bucketCount * 3 {
            grow()
            return storage.insertNew(slot, hash: hash)
        }
        storage.control[index] = Self.tag(hash)
        (storage.slots + index).initialize(to: slot)
        storage.count += 1
        return index
    }

    /// A hint that `key` will be looked up soon: starts loading its home bucket's control
    /// byte and slot (see `EntryIndex.prefetch`). Changes nothing.
    @inline(__always)
    @inlinable package func prefetch(_ key: Key) {
        let index = Int(truncatingIfNeeded: hash(key)) & storage.mask
        lightscope_prefetch(storage.control + index)
        lightscope_prefetch(storage.slots + index)
    }

    @inlinable package subscript(key: Key) -> Value? {
        guard let index = index(of: key) else { return nil }
        return storage.slots[index].value
    }

    /// The value in an occupied slot, changed in place.
    @inlinable package subscript(valueAt index: Int) -> Value {
        get {
            storage.checkOccupied(index)
            return storage.slots[index].value
        }
        _modify {
            storage.checkOccupied(index)
            makeUnique()
            yield &storage.slots[index].value
        }
    }

    /// Inserts `key` or replaces its value; returns its slot.
    @discardableResult
    @inlinable package mutating func updateValue(_ value: Value, forKey key: Key) -> Int {
        makeUnique()
        let hash = hash(key)
        let (index, found) = bucket(of: key, hash: hash)
        guard !found else {
            storage.slots[index].value = value
            return index
        }
        return insertAbsent(Slot(key: key, value: value), hash: hash, at: index)
    }

    /// Changes the value for `key` in place, inserting `initial` first when absent: one hash
    /// and one probe where a lookup and then an insert make two. Returns the value as changed.
    @inline(__always) @discardableResult
    @inlinable package mutating func update(_ key: Key, inserting initial: Value, _ change: (inout Value) -> Void) -> Value {
        makeUnique()
        let hash = hash(key)
        let (index, found) = bucket(of: key, hash: hash)
        if found {
            change(&storage.slots[index].value)
            return storage.slots[index].value
        }
        var value = initial
        change(&value)
        _ = insertAbsent(Slot(key: key, value: value), hash: hash, at: index)
        return value
    }

    @discardableResult
    @inlinable package mutating func removeValue(forKey key: Key) -> Value? {
        guard let index = index(of: key) else { return nil }
        return remove(at: index)
    }

    /// Empties an occupied slot and shifts the rest of its cluster back, so lookups never
    /// need tombstones.
    @discardableResult
    @inlinable package mutating func remove(at index: Int) -> Value {
        storage.checkOccupied(index)
        makeUnique()
        let storage = storage
        let mask = storage.mask
        let removed = (storage.slots + index).move().value
        storage.control[index] = 0
        storage.count -= 1
        var hole = index
        var next = (index &+ 1) & mask
        while storage.control[next] != 0 {
            let wanted = Int(truncatingIfNeeded: hash(storage.slots[next].key)) & mask
            // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
            if (next &- wanted) & mask >= (next &- hole) & mask {
                (storage.slots + hole).moveInitialize(from: storage.slots + next, count: 1)
                storage.control[hole] = storage.control[next]
                storage.control[next] = 0
                hole = next
            }
            next = (next &+ 1) & mask
        }
        return removed
    }

    @inlinable package mutating func removeAll() {
        storage = Storage(buckets: Self.firstBucketCount(maximumCount: maximumCount))
    }

    /// Every key and value, in bucket order (no particular order).
    @inlinable package func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        let storage = storage
        for index in 0...storage.mask where storage.control[index] != 0 {
            try body(storage.slots[index].key, storage.slots[index].value)
        }
    }

    @inline(__always)
    @inlinable mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    @inlinable mutating func grow() {
        let old = storage
        let bigger = Storage(buckets: 2 * (old.mask + 1))
        for index in 0...old.mask where old.control[index] != 0 {
            // `makeUnique` ran first, so the old storage is ours to move out of.
            old.control[index] = 0
            let slot = (old.slots + index).move()
            _ = bigger.insertNew(slot, hash: hash(slot.key))
        }
        old.count = 0
        storage = bigger
    }

    /// The buckets: control bytes and slots, allocated once per size. A slot is initialised
    /// exactly when its control byte is non-zero.
    @usableFromInline package final class Storage: @unchecked Sendable {
        @usableFromInline package let mask: Int
        /// Unchecked: a class's stored property gets a dynamic exclusivity check on every
        /// access from another module (replay's per-event tally paid ~60 instructions an insert).
        @usableFromInline @exclusivity(unchecked) package var count = 0
        @usableFromInline package let control: UnsafeMutablePointer<UInt8>
        @usableFromInline package let slots: UnsafeMutablePointer<Slot>

        @inlinable package init(buckets: Int) {
            mask = buckets - 1
            // calloc, not allocate-and-fill: a large zeroed block comes straight from mmap,
            // and its pages stay uncommitted until a key lands on them.
            guard let zeroed = calloc(buckets, 1) else {
                fatalError("FastHashTable: out of memory for \(buckets) buckets")
            }
            TableMemory.adviseNewBlock(zeroed, byteCount: buckets)
            control = zeroed.bindMemory(to: UInt8.self, capacity: buckets)
            slots = .allocate(capacity: buckets)
            TableMemory.adviseNewBlock(UnsafeMutableRawPointer(slots), byteCount: buckets * MemoryLayout<Slot>.stride)
        }

        deinit {
            for index in 0...mask where control[index] != 0 { (slots + index).deinitialize(count: 1) }
            free(control)
            slots.deallocate()
        }

        /// Traps unless `index` is a bucket holding a slot: the one guard in front of every
        /// access by index, since the slots are raw memory.
        @inline(__always)
        @inlinable package func checkOccupied(_ index: Int) {
            precondition(index >= 0 && index <= mask && control[index] != 0, "FastHashTable: no entry in slot \(index)")
        }

        /// Inserts a key known to be absent, with room known to be there.
        @inlinable package func insertNew(_ slot: Slot, hash: UInt64) -> Int {
            var index = Int(truncatingIfNeeded: hash) & mask
            while control[index] != 0 { index = (index &+ 1) & mask }
            control[index] = FastHashTable.tag(hash)
            (slots + index).initialize(to: slot)
            count += 1
            return index
        }

        @inlinable package func copy() -> Storage {
            let copy = Storage(buckets: mask + 1)
            copy.control.update(from: control, count: mask + 1)
            for index in 0...mask where control[index] != 0 { (copy.slots + index).initialize(to: slots[index]) }
            copy.count = count
            return copy
        }
    }
}

extension FastHashTable: Sendable where Key: Sendable, Value: Sendable {}
