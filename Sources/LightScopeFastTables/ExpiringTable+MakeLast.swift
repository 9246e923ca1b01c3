// An insert that makes its record last, once the key is known absent and the room is made.
//
// `insertOrModify` makes the record of an absent key before it evicts: the record (a slow-scan
// source's is 64 bytes) was built on the stack, kept there over the eviction, and copied into
// the ring afterwards. Under a flood of new keys into a full table that is every insert.
// Here `make` is called after the evictions, right before the append, so that the record is
// written where it goes. Same lookup, same entries evicted in the same order, same index and
// ring (ExpiringTableMakeLastTests compares it with `insertOrModify`); only the moment `make`
// runs differs: after `evicted` was told of the entries the insert pushed out.

extension ExpiringTable {
    /// `insertOrModify(_:nowNanos:refresh:make:_:evicted:)`, but `make` runs after the
    /// evictions the insert needs (see above). Returns whether the key was inserted.
    @discardableResult @inline(__always)
    @inlinable package mutating func insertOrModify(_ key: Key, nowNanos: UInt64, refresh: Bool, makingLast make: () -> Record,
                                                     _ change: (inout Record, UInt64) -> Void,
                                                     evicted: (Record, UInt64) -> Void) -> Bool {
        makeUnique()
        let hash = storage.hash(key)
        let stop = storage.walk(key, hash: hash)
        if stop.slot >= 0 {
            let found = Found(bucket: stop.bucket, slot: stop.slot)
            let stamp = storage.records[found.slot].stamp
            change(&storage.records[found.slot], storage.clock.nanos(of: stamp))
            storage.records[found.slot].stamp = stamp
            if refresh { self.refresh(found, nowNanos: nowNanos, evicted: evicted) }
            return false
        }
        // A table that may grow, or a time its clock cannot hold: `insertAbsent`'s path.
        guard let offset = storage.clock.offset(of: nowNanos), storage.liveCount < storage.capacity || !mayGrow else {
            var record = make()
            change(&record, nowNanos)
            insertAbsent(record, hash: hash, nowNanos: nowNanos, evicted: evicted)
            return true
        }
        // `insertAbsent(_:hash:emptyBucket:nowNanos:evicted:)`, the record made after the evictions.
        var bucket = stop.bucket
        while storage.liveCount >= storage.capacity {
            guard let (old, touched, hole) = storage.takeFront(prefetching: Self.expiryPrefetchDistance) else { break }
            evictions &+= 1
            bucket = storage.index.firstEmpty(hash: hash, was: bucket, afterHole: hole)
            evicted(old, touched)
        }
        if storage.ringIsFull { storage.compact() }
        var record = make()
        change(&record, nowNanos)
        record.stamp = RecordStamp(offsetNanos: offset, mark: record.stamp.mark == 0 ? 1 : record.stamp.mark)
        storage.append(record, hash: hash, inFirstEmpty: bucket)
        return true
    }
}
