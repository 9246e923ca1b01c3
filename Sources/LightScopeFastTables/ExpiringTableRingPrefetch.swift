import CPrefetch

// The ring's records ahead of the front, loaded before they are read.
//
// Expiry and a full table's eviction read the record a few places behind the front (to
// prefetch its index bucket) before its turn. Under a flood that record is cold: the ring is
// far beyond the caches (a million pending probes, 28 MiB), and a 64-byte slow-scan record is
// a cache line of its own, so that read missed once per eviction (callgrind's cache
// simulation: one miss per slow-scan eviction, one per pending line), a demand load the
// bucket's prefetch then waited for. Its line is started twice as far ahead instead.

extension ExpiringTable.Storage {
    /// Starts loading the record `distance` places from the front, if there is one. Changes
    /// nothing.
    @inline(__always)
    @inlinable package func prefetchRecord(behindFront distance: Int) {
        guard distance < used else { return }
        lightscope_prefetch(records + slot(behindFront: distance))
    }
}
