/// The flows this host started lately: its outbound TCP SYNs and UDP datagrams, so that an
/// answer to one of them (a SYN-ACK, a RST, an ICMP error) is never taken for backscatter.
///
/// One fixed-size `ExpiringTable` of 16-byte fingerprints for both address families, drawing
/// on the budget's share for outbound flows; a flow is forgotten `grace` after it was last
/// seen, or evicted, oldest first, when the share is full. An evicted flow loses no event:
/// a late answer to it may then be counted as backscatter, which `evictions` lets an
/// operator see.
struct OutboundFlows {
    private var flows: ExpiringTable<OutboundFlowRecord>
    /// The key of the fingerprints, apart from the table's own: a remote cannot choose ports
    /// that make its flow's fingerprint match another's.
    private let fingerprintSeed = FastHashSeed.random()

    init(capacities: DetectionCapacities, budget: DetectionBudget) {
        flows = ExpiringTable(maximumCapacity: capacities.outboundFlows, initialCapacity: DetectionBudget.initialEntries,
                              pool: budget.pool(.outboundFlows))
    }

    var count: Int { flows.count }
    var evictions: UInt64 { flows.evictions }
    var reservedBytes: Int { flows.reservedBytes }

    @inline(__always)
    private func key(isUDP: Bool, remote: IPAddress, remotePort: UInt16, localPort: UInt16) -> OutboundFlowKey {
        let ports = UInt64(isUDP ? 1 : 0) << 32 | UInt64(remotePort) << 16 | UInt64(localPort)
        return OutboundFlowKey(fingerprint: fingerprintSeed.hash(remote.high, remote.low, ports))
    }

    /// The host sent a SYN or a datagram from `localPort` to `remote`:`remotePort`.
    mutating func record(isUDP: Bool, remote: IPAddress, remotePort: UInt16, localPort: UInt16, clockNanos: UInt64) {
        let key = key(isUDP: isUDP, remote: remote, remotePort: remotePort, localPort: localPort)
        flows.upsert(OutboundFlowRecord(fingerprint: key.fingerprint), nowNanos: clockNanos, evicted: { _, _ in })
    }

    /// Whether a packet from `remote`:`remotePort` to `localPort` answers a flow the host started.
    func contains(isUDP: Bool, remote: IPAddress, remotePort: UInt16, localPort: UInt16) -> Bool {
        flows.contains(key(isUDP: isUDP, remote: remote, remotePort: remotePort, localPort: localPort))
    }

    mutating func expire(touchedAtOrBefore cutoffNanos: UInt64) {
        flows.expire(touchedAtOrBefore: cutoffNanos) { _, _ in }
        flows.shrinkIfSparse()
    }
}
