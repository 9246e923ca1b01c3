import CPrefetch
#if canImport(Glibc)
import Glibc
#endif

/// The hash index of an `ExpiringTable`: open addressing with linear probing and backward-
/// shift deletion, 8 bytes per bucket (a ring slot and 32 bits of the key's hash), at a load
/// factor of at most 1/2. It holds no keys: a candidate is confirmed by comparing the key in
/// its ring record, and the stored hash bits both filter candidates (a false match costs one
/// record read in 2^(32 - log2 buckets)) and give each entry's home bucket for deletion, so
/// deleting never reads a record.
struct EntryIndex {
    struct Bucket {
        /// Ring slot + 1; 0 marks an empty bucket (so calloc's zeroes are an empty index).
        var slotPlusOne: UInt32
        var hash: UInt32
    }

    let maximumCount: Int
    private let mask: Int
    let buckets: UnsafeMutablePointer<Bucket>

    static func bucketCount(forMaximumCount maximumCount: Int) -> Int {
        var count = 16
        while count / 2 < maximumCount { count *= 2 }
        return count
    }

    static func bytes(forMaximumCount maximumCount: Int) -> Int {
        bucketCount(forMaximumCount: maximumCount) * MemoryLayout<Bucket>.stride
    }

    init(maximumCount: Int) {
        precondition(maximumCount > 0 && maximumCount < Int(UInt32.max) / 2)
        self.maximumCount = maximumCount
        let count = Self.bucketCount(forMaximumCount: maximumCount)
        mask = count - 1
        // calloc: zeroed (empty) without a fill, pages committed only as buckets are used.
        guard let zeroed = calloc(count, MemoryLayout<Bucket>.stride) else {
            fatalError("ExpiringTable: out of memory for an index of \(count) buckets")
        }
        TableMemory.adviseNewBlock(zeroed, byteCount: count * MemoryLayout<Bucket>.stride)
        buckets = zeroed.bindMemory(to: Bucket.self, capacity: count)
    }

    func deallocate() { free(buckets) }

    @inline(__always)
    private func home(_ hash: UInt32) -> Int { Int(hash) & mask }

    /// Buckets, from its home on, that a prefetch loads for a lookup: a probe runs on
    /// through its cluster (2.5 buckets on average for an absent key at half load, the
    /// common lookup), and a cluster that crosses into the next cache line would miss there.
    static let prefetchedProbeLength = 4

    @inline(__always)
    func prefetch(hash: UInt64) {
        let home = home(UInt32(truncatingIfNeeded: hash))
        lightscope_prefetch(buckets + home)
        lightscope_prefetch(buckets + ((home &+ Self.prefetchedProbeLength - 1) & mask))
    }

    /// The bucket and slot of the entry whose hash is `hash` and for which `isMatch(slot)`.
    @inline(__always)
    func find(hash fullHash: UInt64, isMatch: (Int) -> Bool) -> (bucket: Int, slot: Int)? {
        let hash = UInt32(truncatingIfNeeded: fullHash)
        var bucket = home(hash)
        while true {
            let entry = buckets[bucket]
            if entry.slotPlusOne == 0 { return nil }
            if entry.hash == hash, isMatch(Int(entry.slotPlusOne) - 1) { return (bucket, Int(entry.slotPlusOne) - 1) }
            bucket = (bucket &+ 1) & mask
        }
    }

    /// The bucket that points at `slot`, whose entry has hash `hash`; it must be present.
    func bucket(ofSlot slot: Int, hash fullHash: UInt64) -> Int {
        let target = UInt32(slot + 1)
        var bucket = home(UInt32(truncatingIfNeeded: fullHash))
        while buckets[bucket].slotPlusOne != target {
            precondition(buckets[bucket].slotPlusOne != 0, "ExpiringTable: slot \(slot) not indexed")
            bucket = (bucket &+ 1) & mask
        }
        return bucket
    }

    func slot(inBucket bucket: Int) -> Int { Int(buckets[bucket].slotPlusOne) - 1 }

    func setSlot(_ slot: Int, inBucket bucket: Int) { buckets[bucket].slotPlusOne = UInt32(slot + 1) }

    /// Indexes `slot` under `hash`; the key must be absent (the caller found it so).
    func insert(slot: Int, hash fullHash: UInt64) {
        let hash = UInt32(truncatingIfNeeded: fullHash)
        var bucket = home(hash)
        while buckets[bucket].slotPlusOne != 0 { bucket = (bucket &+ 1) & mask }
        buckets[bucket] = Bucket(slotPlusOne: UInt32(slot + 1), hash: hash)
    }

    /// Empties `bucket` and shifts the rest of its cluster back, so lookups need no tombstones.
    func remove(bucket: Int) {
        var hole = bucket
        var next = (bucket &+ 1) & mask
        while buckets[next].slotPlusOne != 0 {
            let wanted = home(buckets[next].hash)
            // Move the entry at `next` into the hole unless its home lies cyclically in (hole, next].
            if (next &- wanted) & mask >= (next &- hole) & mask {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next &+ 1) & mask
        }
        buckets[hole] = Bucket(slotPlusOne: 0, hash: 0)
    }
}
