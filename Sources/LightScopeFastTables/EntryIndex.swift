import CPrefetch

/// The hash index of an `ExpiringTable`: open addressing with linear probing and backward-
/// shift deletion, at a load factor of at most 1/2, in 4 bytes per bucket. It holds no keys:
/// a bucket is a record's ring slot, how far the bucket lies from the key's home bucket,
/// and as many bits of the key's hash as are left over (a tag).
///
/// - The tag filters candidates: a lookup reads a record only when the tag matches, so a
///   false match costs one record read in 2^tag bits.
/// - The distance gives each entry's home bucket, which deletion needs to shift the rest
///   of a cluster back, without reading the record. Four bits hold distances up to 14; a
///   longer one (rare at half load) is marked unknown, and deletion then hashes the record's
///   key (`homeOfSlot`) to find the home.
///
/// A bucket is `distance | (slot + 1) << 4 | tag << tagShift`: the distance in the low bits,
/// where the backward shift of every removal (a full table's eviction, expiry) reads it with
/// one mask and moves an entry nearer its home with one subtraction, no shift by a count held
/// in a register (about 3 instructions a bucket a removal walks, two or three buckets each).
@usableFromInline package struct EntryIndex {
    @usableFromInline package let bucketCount: Int
    @usableFromInline let mask: Int
    @usableFromInline let slotBits: UInt32
    @usableFromInline let slotMask: UInt32
    @usableFromInline let tagShift: UInt32
    /// The bits of a bucket above its slot: its tag, in place (`placedTag`).
    @usableFromInline let tagMask: UInt32
    @usableFromInline package let buckets: UnsafeMutablePointer<UInt32>

    @usableFromInline package static let distanceBits: UInt32 = 4
    @usableFromInline package static let unknownDistance: UInt32 = (1 << distanceBits) - 1
    /// The most ring slots an index can point at: enough bits must be left for a tag.
    @usableFromInline package static let maximumSlots = (1 << 27) - 1

    /// The fewest buckets, a power of two and 16 at least, that keep `maximumCount` entries
    /// at half load. Bit arithmetic, not a doubling loop: a full table asks it on every
    /// insert it cannot grow for (through `ExpiringTable.bytes(capacity:)`).
    @inlinable package static func bucketCount(forMaximumCount maximumCount: Int) -> Int {
        guard maximumCount > 8 else { return 16 }
        return 1 &<< (Int.bitWidth - (2 * maximumCount - 1).leadingZeroBitCount)
    }

    /// Memory of an index for `maximumCount` entries, in whole pages.
    @inlinable package static func bytes(forMaximumCount maximumCount: Int) -> Int {
        TableMemory.pageRounded(bucketCount(forMaximumCount: maximumCount) * MemoryLayout<UInt32>.stride)
    }

    /// An empty index for up to `maximumCount` entries, pointing at slots below `slotCount`.
    @inlinable package init(maximumCount: Int, slotCount: Int) {
        let bucketCount = Self.bucketCount(forMaximumCount: maximumCount)
        self.init(maximumCount: maximumCount, slotCount: slotCount,
                  buckets: TableMemory.allocate(byteCount: bucketCount * MemoryLayout<UInt32>.stride)
                      .bindMemory(to: UInt32.self, capacity: bucketCount))
    }

    /// An index over `buckets`, a zeroed block from `TableMemory` of `bucketCount(forMaximumCount:)`
    /// buckets, which `deallocate` frees.
    @inlinable package init(maximumCount: Int, slotCount: Int, buckets: UnsafeMutablePointer<UInt32>) {
        precondition(maximumCount > 0 && slotCount > 0 && slotCount <= Self.maximumSlots)
        bucketCount = Self.bucketCount(forMaximumCount: maximumCount)
        mask = bucketCount - 1
        // Slot + 1 is stored (0 marks an empty bucket), so `slotCount` itself must fit.
        slotBits = UInt32(Int.bitWidth - slotCount.leadingZeroBitCount)
        slotMask = (1 &<< slotBits) &- 1
        tagShift = slotBits + Self.distanceBits
        tagMask = UInt32.max &<< tagShift
        self.buckets = buckets
    }

    /// An empty index for up to `maximumCount` entries, pointing at slots below `slotCount`,
    /// over this one's buckets resized where they lie (`TableMemory.resize`): the buckets it
    /// had keep their pages, emptied by a write (no page faults), and only the buckets
    /// added are fresh pages, mapped at once (`TableMemory.populate`). Nil if they cannot be
    /// resized where they lie (the kernel said no, or they would move onto huge pages from
    /// small ones: `TableMemory.resize`); this index is then unchanged. This index must not
    /// be used afterwards, nor deallocated.
    @inlinable package func emptiedAndResized(maximumCount: Int, slotCount: Int) -> EntryIndex? {
        let newBucketCount = Self.bucketCount(forMaximumCount: maximumCount)
        let stride = MemoryLayout<UInt32>.stride
        guard let resized = TableMemory.resize(buckets, byteCount: bucketCount * stride, to: newBucketCount * stride) else {
            return nil
        }
        let kept = min(bucketCount, newBucketCount) * stride
        resized.initializeMemory(as: UInt8.self, repeating: 0, count: kept)
        // The index is rebuilt next, a quarter full at least and at random: every page of it
        // is touched, each first by a read (a probe of a bucket).
        TableMemory.populate(resized + kept, byteCount: newBucketCount * stride - kept)
        return EntryIndex(maximumCount: maximumCount, slotCount: slotCount,
                          buckets: resized.bindMemory(to: UInt32.self, capacity: newBucketCount))
    }

    /// Maps every page of the buckets at once (`TableMemory.populate`) if `count` entries are
    /// about to be inserted and spread at random: at 16 a page or more, every page is touched
    /// anyway, each first by a read, two page faults where this takes none.
    @inlinable package func populateIfDense(forCount count: Int) {
        guard count &* 64 >= bucketCount else { return }
        TableMemory.populate(buckets, byteCount: bucketCount * MemoryLayout<UInt32>.stride)
    }

    @inlinable package func deallocate() { TableMemory.free(buckets, byteCount: bucketCount * MemoryLayout<UInt32>.stride) }

    /// Empties every bucket.
    @inlinable package func clear() { TableMemory.zero(buckets, byteCount: bucketCount * MemoryLayout<UInt32>.stride) }

    @inline(__always)
    @inlinable func home(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & mask }

    /// The top bits of the hash, as many as a bucket has room for.
    @inline(__always)
    @inlinable func tag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash &>> (32 + UInt64(tagShift))) }

    /// `tag(hash) << tagShift`, where a bucket keeps it, in one mask: the hash's top bits are
    /// the tag, so its high word with the bits below the tag cleared is the tag in place. An
    /// insert and a lookup shifted by `tagShift`, a count each held in a register (about four
    /// instructions a table a failed attempt, two tables under a flood).
    @inline(__always)
    @inlinable func placedTag(_ hash: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: hash &>> 32) & tagMask }

    @inline(__always)
    @inlinable func slot(of entry: UInt32) -> Int { Int((entry &>> Self.distanceBits) & slotMask) &- 1 }

    @inline(__always)
    @inlinable func distance(of entry: UInt32) -> UInt32 { entry & Self.unknownDistance }

    @inline(__always)
    @inlinable func entry(slot: Int, distance: Int, tag: UInt32) -> UInt32 {
        UInt32(truncatingIfNeeded: min(distance, Int(Self.unknownDistance)))
            | UInt32(truncatingIfNeeded: slot &+ 1) &<< Self.distanceBits | tag &<< tagShift
    }

    /// Starts loading the buckets a lookup of `hash` will read: its home, and the next few
    /// (a lookup runs on through its cluster, which may cross into the next cache line).
    @inline(__always)
    @inlinable package func prefetch(hash: UInt64) {
        let home = home(hash)
        lightscope_prefetch(buckets + home)
        lightscope_prefetch(buckets + ((home &+ 3) & mask))
    }

    /// Where a lookup of `hash` stops: the bucket of the entry for which `isMatch(slot)` and
    /// its slot, or the first empty bucket from the hash's home and slot -1.
    @inline(__always)
    @inlinable package func walk(hash: UInt64, isMatch: (Int) -> Bool) -> (bucket: Int, slot: Int) {
        let wanted = placedTag(hash)
        var bucket = home(hash)
        while true {
            let entry = buckets[bucket]
            if entry == 0 { return (bucket, -1) }
            if entry & tagMask == wanted, isMatch(slot(of: entry)) { return (bucket, slot(of: entry)) }
            bucket = (bucket &+ 1) & mask
        }
    }

    /// The bucket and slot of the entry whose hash is `hash` and for which `isMatch(slot)`.
    @inline(__always)
    @inlinable package func find(hash: UInt64, isMatch: (Int) -> Bool) -> (bucket: Int, slot: Int)? {
        let stop = walk(hash: hash, isMatch: isMatch)
        return stop.slot >= 0 ? stop : nil
    }

    /// The bucket that points at `slot`, whose entry has hash `hash`; it must be present.
    @inlinable package func bucket(ofSlot slot: Int, hash: UInt64) -> Int {
        var bucket = home(hash)
        while self.slot(of: buckets[bucket]) != slot {
            precondition(buckets[bucket] != 0, "EntryIndex: slot \(slot) not indexed")
            bucket = (bucket &+ 1) & mask
        }
        return bucket
    }

    @inlinable package func slot(inBucket bucket: Int) -> Int { slot(of: buckets[bucket]) }

    @inlinable package func setSlot(_ slot: Int, inBucket bucket: Int) {
        buckets[bucket] = buckets[bucket] & ~(slotMask &<< Self.distanceBits)
            | UInt32(truncatingIfNeeded: slot &+ 1) &<< Self.distanceBits
    }

    /// Indexes `slot` under `hash`; the key must be absent (the caller found it so).
    @inline(__always)
    @inlinable package func insert(slot: Int, hash: UInt64) {
        insert(slot: slot, hash: hash, inFirstEmpty: firstEmpty(hash: hash))
    }

    /// The first empty bucket from `hash`'s home: where an insert of it goes.
    @inline(__always)
    @inlinable package func firstEmpty(hash: UInt64) -> Int {
        var bucket = home(hash)
        while buckets[bucket] != 0 { bucket = (bucket &+ 1) & mask }
        return bucket
    }

    /// Empties `bucket` and shifts the rest of its cluster back, so lookups need no
    /// tombstones. `homeOfSlot` hashes the key in a slot, for an entry whose distance from
    /// home was too long to keep. Returns the bucket left empty (the shift's last hole).
    @discardableResult @inline(__always)
    @inlinable package func remove(bucket: Int, homeOfSlot: (Int) -> UInt64) -> Int {
        var hole = bucket
        var next = (bucket &+ 1) & mask
        while buckets[next] != 0 {
            let moving = buckets[next]
            let distance = distance(of: moving)
            let gap = (next &- hole) & mask
            // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
            if distance != Self.unknownDistance {
                // Its home is `distance` back; moved, it is `gap` nearer (the same entry as
                // `entry(slot:distance:tag:)` makes, without taking it apart).
                if Int(distance) >= gap {
                    buckets[hole] = moving &- UInt32(truncatingIfNeeded: gap)
                    hole = next
                }
            } else {
                let wanted = home(homeOfSlot(slot(of: moving)))
                if (next &- wanted) & mask >= gap {
                    buckets[hole] = entry(slot: slot(of: moving), distance: (hole &- wanted) & mask, tag: moving &>> tagShift)
                    hole = next
                }
            }
            next = (next &+ 1) & mask
        }
        buckets[hole] = 0
        return hole
    }
}
