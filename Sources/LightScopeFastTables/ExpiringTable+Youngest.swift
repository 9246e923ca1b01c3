// For an owner that keeps its records in the order of their times (a table whose inserts
// come with times that never go back, as `FirstFailureTier`'s admissions do) and sometimes
// needs the youngest of them back: the young end is read backwards, not the whole ring.

extension ExpiringTable {
    /// Whether `key`, whose hash (`hash(of:)`) is `hash`, is present: for a caller that looks
    /// one key up in several tables made with one seed.
    @inline(__always)
    @inlinable package func contains(_ key: Key, hash: UInt64) -> Bool { storage.find(key, hash: hash) != nil }

    /// Takes out the live entries touched after `cutoffNanos` that lie behind every live entry
    /// touched at or before it (all of them, in a table whose times only grow from front to
    /// young end), and returns them oldest first, with their touched times.
    @inlinable package mutating func takeYoungest(touchedAfter cutoffNanos: UInt64) -> [(record: Record, touchedNanos: UInt64)] {
        makeUnique()
        var taken: [(record: Record, touchedNanos: UInt64)] = []
        var distance = storage.used - 1
        while distance >= 0 {
            let record = storage.records[storage.slot(behindFront: distance)]
            distance -= 1
            guard record.stamp.isLive else { continue }
            let touched = storage.clock.nanos(of: record.stamp)
            guard touched > cutoffNanos else { break }
            taken.append((record, touched))
        }
        // Newest first: each is then the ring's young end, and leaves no dead record behind.
        for entry in taken {
            if let found = storage.find(entry.record.key) { _ = storage.remove(found) }
        }
        return taken.reversed()
    }
}
