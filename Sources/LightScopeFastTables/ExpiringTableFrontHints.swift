// The front record's index bucket, without hashing its key again.
//
// Taking out the front record (a full table's eviction, expiry) needs the bucket that points
// at its slot, and found it by hashing the record's key and walking from its home. But the
// same key was hashed a few removals earlier, when the record was `expiryPrefetchDistance`
// places behind the front and its bucket was prefetched: that home is kept, by slot, in a
// small ring (`frontHints`), and the walk starts there.
//
// A hint is only where a walk starts: the bucket is the one whose entry points at the front's
// slot, which no other bucket does. A hint that is stale (the slot was refilled since, or
// compaction moved records) or was never set starts the walk elsewhere: in the entry's own
// cluster after it, or in another cluster, the walk meets an empty bucket first (the index is
// at most half full), and the key is hashed after all. So a wrong hint costs a walk, never a
// wrong bucket. Under a flood of new keys a full table hashed its front's key once per insert:
// the slow-scan table's 16-byte key cost about 20 instructions an eviction.

extension ExpiringTable.Storage {
    /// Hints kept (`aheadRingCount`): a hint outlives the removals between its record's
    /// prefetch and its turn at the front.
    @inlinable package static var frontHintCount: Int { ExpiringTable.aheadRingCount }

    /// Keeps `hash`'s home as the hint of `slot`.
    @inline(__always)
    @inlinable package func noteHome(of slot: Int, hash: UInt64) {
        frontHints[slot & (Self.frontHintCount &- 1)] = UInt32(truncatingIfNeeded: index.home(hash))
    }

    /// The bucket whose entry points at the front's slot, which must be live: the walk starts
    /// at the slot's hint, and from the key's home if the hint was wrong.
    @inline(__always)
    @inlinable package func bucketOfFront() -> Int {
        let front = head
        var bucket = Int(frontHints[front & (Self.frontHintCount &- 1)]) & index.mask
        while true {
            let entry = index.buckets[bucket]
            if entry == 0 { break }
            if index.slot(of: entry) == front { return bucket }
            bucket = (bucket &+ 1) & index.mask
        }
        return index.bucket(ofSlot: front, hash: hash(records[front].key))
    }
}
