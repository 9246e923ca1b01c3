// A full table's eviction without its random index line.
//
// A full table evicts its oldest entry for every new key; unindexing it reads and writes
// the entry's index bucket, a random line of the index: under a flood of new sources one
// memory miss per insert once the index is beyond the caches (the fast-scan table's, 2 MiB
// at its largest). A table that `unindexesEvictionsLazily` leaves that entry in the index,
// its record dead at a ring slot outside the live run (`head` for `used` slots), and sweeps
// such entries out of the whole index, in order, before the ring's young end comes back
// to their slots.
//
// Why nothing the table does changes:
// - A lookup matches a live record only (`find` checks the mark as well as the key), and a
//   left-behind entry's record stays as evicted, dead, until the sweep: it never matches.
// - Live entries are all indexed as before; the entries left behind only lengthen the runs
//   a lookup or an insert walks. They lie in the slots from `garbageStart` to `head`, behind
//   the front; the young end reaches those slots only after the sweep (`append` and
//   `moveToYoungEnd` sweep first), so every live slot is outside them, and an entry is left
//   behind if and only if its slot is outside the live run: the sweep needs no record.
// - Live entries plus left-behind ones are at most the ring's slots (5/4 of the capacity),
//   so the index (2 buckets an entry of the capacity) stays below 5/8 full: runs end.
// - Growth, shrinking and copies build their index from the live records; `drain` empties
//   it; `compact` runs only on a full ring, which the sweep has cleared by then.
// So which entries are live, their order, their records, the evictions and their count
// are the same as unindexing each at once. The sweep reads the index once in order for
// about a quarter of the capacity of evictions: a few buckets an eviction, in sequence.

extension ExpiringTable.Storage {
    /// `takeFront(prefetching:)`, leaving the front's entry in the index for the sweep.
    @inline(__always)
    @inlinable func takeFrontLazily(prefetching distance: Int) -> (Record, UInt64)? {
        while used > 0 && !records[head].stamp.isLive {
            head = next(head)
            used -= 1
        }
        guard used > 0 else { return nil }
        prefetchRecord(behindFront: distance &* 2)
        let front = head
        let record = records[front]
        if garbage == 0 { garbageStart = front }
        garbage &+= 1
        liveCount -= 1
        records[front].stamp.mark = 0
        head = next(head)
        used -= 1
        return (record, clock.nanos(of: record.stamp))
    }

    /// Sweeps the entries left behind out of the index if the young end's next slot is
    /// one of theirs (slots `garbageStart` up to `head`, a whole ring if they meet); true
    /// if it swept (entries may then be in other buckets).
    @discardableResult
    @inlinable func sweepGarbageBeforeTail() -> Bool {
        var span = head &- garbageStart
        if span <= 0 { span &+= ringCapacity }
        guard used &+ span >= ringCapacity else { return false }
        sweepGarbage()
        return true
    }

    /// Removes every index entry whose slot is outside the live run, in bucket order.
    @inline(never)
    @inlinable func sweepGarbage() {
        let index = self.index
        let buckets = index.buckets
        var bucket = 0
        while bucket < index.bucketCount {
            let entry = buckets[bucket]
            if entry != 0 {
                var offset = index.slot(inBucket: bucket) &- head
                if offset < 0 { offset &+= ringCapacity }
                if offset >= used {
                    // The run shifts back into this bucket: look at it again.
                    index.remove(bucket: bucket) { hash(records[$0].key) }
                    continue
                }
            }
            bucket &+= 1
        }
        garbage = 0
    }
}
