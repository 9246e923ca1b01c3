/// What `DetectionCore+HeldProbes` asks of the IPv4 table.
extension PendingProbes {
    var ipv4IsEmpty: Bool { ipv4.isEmpty }

    @inline(__always)
    func containsIPv4(_ key: IPv4ProbeKey) -> Bool { ipv4.contains(key) }

    /// Whether one more IPv4 probe, first seen at `clockNanos`, may be held beside `held`
    /// others: the table would take it and them as it is (its clock holds the time, and it
    /// has room for all without growing or evicting).
    @inline(__always)
    func mayHoldIPv4(clockNanos: UInt64, held: Int) -> Bool {
        ipv4.count &+ held < ipv4.capacity && ipv4.holdsTime(clockNanos)
    }

    /// A held probe into the table, where it would have gone when first seen. Never evicts:
    /// it was held only while the table had room for it (`mayHoldIPv4`), and nothing else was
    /// inserted since.
    @inline(__always)
    mutating func insertHeldIPv4(_ record: PendingIPv4Probe, firstSeenNanos: UInt64) {
        ipv4.insert(absent: record, nowNanos: firstSeenNanos, evicted: { _, _ in
            assertionFailure("PendingProbes: a held probe's insert evicted")
        })
    }
}
