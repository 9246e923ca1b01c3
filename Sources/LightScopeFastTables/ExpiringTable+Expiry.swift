// Expiry for a caller that judges each expired entry as it comes out, instead of collecting
// them first: it is told of each record a few places on, while that record's index bucket is
// loaded, so that it can start loading what it will look up for it too.

extension ExpiringTable {
    /// `expire(touchedAtOrBefore:limit:_:)`, and before each entry comes out, `ahead` gets
    /// the live record `expiryPrefetchDistance` places behind the front (if any), whose
    /// index bucket is being prefetched: its turn in `expired` comes a few entries later
    /// (unless the cutoff or `limit` stops the run first). Returns how many entries expired.
    /// Inlined into its caller, closures and all: called once per run, and a call through
    /// the closures' contexts cost the caller's per-entry work as much again.
    @discardableResult @inline(__always)
    @inlinable package mutating func expire(touchedAtOrBefore cutoffNanos: UInt64, limit: Int = .max, ahead: (Record) -> Void,
                                             _ expired: (Record, UInt64) -> Void) -> Int {
        makeUnique()
        var taken = 0
        while taken < limit, let front = storage.front {
            let stamp = storage.records[front].stamp
            guard stamp.isLive else {
                storage.popDeadFront()
                continue
            }
            let touched = storage.clock.nanos(of: stamp)
            guard touched <= cutoffNanos else { break }
            storage.prefetchBucket(ofRecordBehindFront: Self.expiryPrefetchDistance, ahead: ahead)
            expired(storage.removeFront(), touched)
            taken &+= 1
        }
        return taken
    }
}

extension ExpiringTable.Storage {
    /// `prefetchBucket(ofRecordBehindFront:)`, handing the record to `ahead` too.
    @inline(__always)
    @inlinable package func prefetchBucket(ofRecordBehindFront distance: Int, ahead: (Record) -> Void) {
        prefetchRecord(behindFront: distance &* 2)
        guard distance < used else { return }
        let slot = slot(behindFront: distance)
        let record = records[slot]
        guard record.stamp.isLive else { return }
        let hash = hash(record.key)
        index.prefetch(hash: hash)
        noteHome(of: slot, hash: hash)
        ahead(record)
    }
}
