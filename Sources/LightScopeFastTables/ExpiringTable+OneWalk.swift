// An insert after a lookup that missed, without walking the key's cluster a second time.
//
// A lookup of an absent key walks the index from the key's home bucket to the first empty
// one, and the insert (`EntryIndex.insert`) walked the same buckets again to find that empty
// bucket. `insertOrModify` (and `upsert` through it) keeps the bucket where its lookup stopped
// and the insert writes it, so the index ends up exactly as the second walk would leave it:
//
// - An eviction between the two (a full table, every insert under a stream of new keys)
//   empties one bucket, the last hole of its backward shift: every empty bucket stays empty
//   and every full one full but that. The first empty bucket from the key's home is then
//   that hole if it lies on the walk before the kept bucket, else the kept bucket still.
// - A growth (a new index) or a moved clock (evictions of its own) is rare: the insert then
//   walks again, as before.

extension EntryIndex {
    /// Indexes `slot` under `hash` in `bucket`, which must be the first empty bucket from the
    /// hash's home (what `insert(slot:hash:)` would find).
    @inline(__always)
    @inlinable package func insert(slot: Int, hash: UInt64, inFirstEmpty bucket: Int) {
        buckets[bucket] = UInt32(truncatingIfNeeded: min((bucket &- home(hash)) & mask, Int(Self.unknownDistance)))
            | UInt32(truncatingIfNeeded: slot &+ 1) &<< Self.distanceBits | placedTag(hash)
    }

    /// The first empty bucket from `hash`'s home after a removal left `hole` empty, if
    /// `bucket` was the first before it.
    @inline(__always)
    @inlinable package func firstEmpty(hash: UInt64, was bucket: Int, afterHole hole: Int) -> Int {
        let home = home(hash)
        return (hole &- home) & mask < (bucket &- home) & mask ? hole : bucket
    }
}

extension ExpiringTable.Storage {
    /// `append(_:hash:)` into `bucket`, the first empty one from the hash's home.
    @inline(__always)
    @inlinable package func append(_ record: Record, hash: UInt64, inFirstEmpty bucket: Int) {
        precondition(used < ringCapacity, "ExpiringTable: ring full")
        let slot = slot(behindFront: used)
        records[slot] = record
        // Wrapping: both stay within the ring's capacity (checked above), and the overflow
        // checks were two instructions of every insert.
        used &+= 1
        liveCount &+= 1
        index.insert(slot: slot, hash: hash, inFirstEmpty: bucket)
    }
}
