/// Remotes that had a real connection to a local port within `grace`: IPv4 ones in a table
/// of 16-byte records, the others in one of 28, both drawing on the budget's share for
/// recent connections. An evicted connection is not a lost event: a late packet of it may
/// then be judged unwanted, which `connectionEvictions` lets an operator see.
struct RecentConnections {
    private var ipv4: ExpiringTable<IPv4ConnectionRecord>
    private var wide: ExpiringTable<WideConnectionRecord>

    init(capacities: DetectionCapacities, budget: DetectionBudget) {
        let pool = budget.pool(.recentConnections)
        // The IPv6 table first: a larger first size of the IPv4 one takes what it leaves.
        wide = ExpiringTable(maximumCapacity: capacities.recentIPv6Connections,
                             initialCapacity: DetectionBudget.initialEntries, pool: pool)
        ipv4 = ExpiringTable(maximumCapacity: capacities.recentConnections, initialCapacity: budget.initialIPv4Entries,
                             pool: pool)
    }

    var count: Int { ipv4.count + wide.count }
    var evictions: UInt64 { ipv4.evictions &+ wide.evictions }
    var reservedBytes: Int { ipv4.reservedBytes + wide.reservedBytes }

    @inline(__always)
    func prefetch(remote: IPAddress, localPort: UInt16) {
        if remote.isIPv4 {
            ipv4.prefetch(IPv4ConnectionKey(remote: UInt32(truncatingIfNeeded: remote.low), localPort: localPort))
        } else {
            wide.prefetch(ConnectionKey(remote: remote, localPort: localPort))
        }
    }

    /// Whether `remote` had a connection to `localPort` within `grace`.
    @inline(__always)
    func contains(remote: IPAddress, localPort: UInt16) -> Bool {
        if remote.isIPv4 { return ipv4.contains(IPv4ConnectionKey(remote: UInt32(truncatingIfNeeded: remote.low), localPort: localPort)) }
        return wide.contains(ConnectionKey(remote: remote, localPort: localPort))
    }

    /// A connection now (a SYN-ACK): kept, or kept longer.
    mutating func record(remote: IPAddress, localPort: UInt16, clockNanos: UInt64) {
        if remote.isIPv4 {
            ipv4.upsert(IPv4ConnectionRecord(remote: UInt32(truncatingIfNeeded: remote.low), localPort: localPort),
                        nowNanos: clockNanos, evicted: { _, _ in })
        } else {
            wide.upsert(WideConnectionRecord(remote: PackedAddress(remote), localPort: localPort), nowNanos: clockNanos,
                        evicted: { _, _ in })
        }
    }

    /// Forgets connections last seen at or before `cutoffNanos`.
    mutating func expire(touchedAtOrBefore cutoffNanos: UInt64) {
        ipv4.expire(touchedAtOrBefore: cutoffNanos) { _, _ in }
        wide.expire(touchedAtOrBefore: cutoffNanos) { _, _ in }
        ipv4.shrinkIfSparse()
        wide.shrinkIfSparse()
    }
}
