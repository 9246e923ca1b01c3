extension ExpiringTable {
    /// Inserts a record whose key the caller knows to be absent, touched at `nowNanos`: an
    /// insert without the lookup `upsert` makes first. Grows or evicts when full, as
    /// `upsert` does.
    @inline(__always)
    @inlinable package mutating func insert(absent record: Record, nowNanos: UInt64, evicted: (Record, UInt64) -> Void) {
        makeUnique()
        insertAbsent(record, hash: storage.hash(record.key), nowNanos: nowNanos, evicted: evicted)
    }
}
