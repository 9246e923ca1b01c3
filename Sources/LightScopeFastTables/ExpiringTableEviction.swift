/// The eviction a full table makes for every insert it cannot grow for, in one pass.
///
/// Under a flood of new keys a full table evicts once per insert: the slow-scan sources'
/// table (a small share of the budget) on every new failing source. `evictOldest` does it
/// through five calls (uniqueness, dead records, the front's bucket, the unindexing, the
/// ring's front) that the compiler keeps apart; here they are one inlined pass, on a
/// storage the insert has made unique already. Same entry out, same order, same count.
extension ExpiringTable {
    /// Evicts the oldest entry, counted, and hands it to `evicted`; false if the table is
    /// empty. The storage must be unique (the insert's caller made it so).
    @inline(__always)
    @inlinable mutating func evictOldestForInsert(_ evicted: (Record, UInt64) -> Void) -> Bool {
        guard let (record, touched, _) = storage.takeFront(prefetching: Self.expiryPrefetchDistance) else { return false }
        evictions &+= 1
        evicted(record, touched)
        return true
    }
}

extension ExpiringTable.Storage {
    /// Takes out the oldest live record, with its time and the index bucket its removal left
    /// empty (the insert after it may take that bucket: ExpiringTable+OneWalk.swift),
    /// skipping the dead ones before it; nil if there is none. Starts loading the index
    /// bucket of the record `distance` places on, whose turn comes a few evictions later.
    @inline(__always)
    @inlinable func takeFront(prefetching distance: Int) -> (Record, UInt64, hole: Int)? {
        // Wrapping: `used` and `liveCount` are above 0 here (a live front), and the overflow
        // checks cost every eviction.
        while used > 0 && !records[head].stamp.isLive {
            head = next(head)
            used &-= 1
        }
        guard used > 0 else { return nil }
        prefetchBucket(ofRecordBehindFront: distance)
        let front = head
        let record = records[front]
        let bucket = bucketOfFront()
        let hole = index.remove(bucket: bucket) { hash(records[$0].key) }
        liveCount &-= 1
        records[front].stamp.mark = 0
        head = next(head)
        used &-= 1
        return (record, clock.nanos(of: record.stamp), hole)
    }
}
