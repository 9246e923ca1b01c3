import LightScopeCore

/// Where a flood's events go once the writer's queue is past `EventPipeline.aggregationMark`:
/// folded into one aggregate event per (verdict, protocol, interface, destination, destination
/// port, source network, minute), which carries how many events it stands for, their packets
/// and a few of their sources (docs/store.md, "Aggregation"). The network is the source's /24
/// (IPv4) or /48 (IPv6): an aggregate is never coarser than port x /24 x minute.
///
/// Bounded: at most `capacity` aggregates are open; an event that would open one more is
/// refused (the pipeline then counts it lost, `aggregation`). Used under the pipeline's lock.
struct EventAggregates {
    static let ipv4PrefixLength = 24
    static let ipv6PrefixLength = 48
    /// Sources kept per aggregate, the first distinct ones seen.
    static let sampleSize = 4
    static let minuteNanos: UInt64 = 60_000_000_000

    struct Key: Hashable {
        var verdict: Verdict
        var proto: TransportProtocol
        var interface: InterfaceName
        var destination: IPAddress?
        var destinationPort: UInt16?
        var network: IPAddress
        var minute: UInt64
    }

    /// One open aggregate: its first event (time, tool, flags), what it has folded so far.
    struct Aggregate {
        var key: Key
        var first: UnwantedEvent
        var events = 1
        var packets: UInt64
        var samples: [IPAddress]

        mutating func add(_ event: UnwantedEvent) {
            events += 1
            packets += UInt64(event.packets)
            if samples.count < EventAggregates.sampleSize, !samples.contains(event.source) { samples.append(event.source) }
        }

        var prefixLength: Int { key.network.isIPv4 ? EventAggregates.ipv4PrefixLength : EventAggregates.ipv6PrefixLength }
    }

    let capacity: Int
    private var open: [Key: Aggregate] = [:]

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { open.count }
    var room: Int { max(0, capacity - open.count) }

    /// The source's network: its /24 (IPv4) or /48 (IPv6).
    static func network(of address: IPAddress) -> IPAddress {
        address.isIPv4 ? IPAddress(high: address.high, low: address.low & ~0xFF)
            : IPAddress(high: address.high & ~0xFFFF, low: 0)
    }

    static func key(of event: UnwantedEvent) -> Key {
        Key(verdict: event.verdict, proto: event.proto, interface: event.interfaceName, destination: event.destination,
            destinationPort: event.destinationPort, network: network(of: event.source), minute: event.timeNanos / minuteNanos)
    }

    /// False when the event would open an aggregate beyond `capacity`.
    mutating func fold(_ event: UnwantedEvent) -> Bool {
        let key = Self.key(of: event)
        // One hash of the key (this runs on a packet loop, under the pipeline's lock).
        if let index = open.index(forKey: key) {
            open.values[index].add(event)
            return true
        }
        guard open.count < capacity else { return false }
        var samples: [IPAddress] = []
        samples.reserveCapacity(Self.sampleSize)
        samples.append(event.source)
        open[key] = Aggregate(key: key, first: event, packets: UInt64(event.packets), samples: samples)
        return true
    }

    /// Takes the aggregates whose minute ended before `nowNanos`'s, or all of them.
    mutating func take(closedBefore nowNanos: UInt64? = nil) -> [Aggregate] {
        guard !open.isEmpty else { return [] }
        guard let nowNanos else {
            defer { open.removeAll(keepingCapacity: true) }
            return Array(open.values)
        }
        let minute = nowNanos / Self.minuteNanos
        let closed = open.values.filter { $0.key.minute < minute }
        for aggregate in closed { open[aggregate.key] = nil }
        return closed
    }
}

extension AddressAnonymiser {
    /// An aggregate as every sink writes it: its network as the source (`203.0.113.0/24`, or the
    /// network address's pseudonym with the prefix length), its samples pseudonymised alike.
    func record(for aggregate: EventAggregates.Aggregate) -> EventRecord {
        let anonymise = mode.anonymisesSource
        let network = anonymise ? pseudonym(for: aggregate.key.network) : aggregate.key.network.description
        let samples = aggregate.samples.map { anonymise ? pseudonym(for: $0) : $0.description }.joined(separator: ",")
        var record = record(for: aggregate.first)
        record.source = "\(network)/\(aggregate.prefixLength)"
        record.sourcePort = nil
        record.packets = UInt32(clamping: aggregate.packets)
        record.ttl = nil
        record.tcpWindow = nil
        record.tcpOptions = nil
        record.aggregated = aggregate.events
        record.samples = samples
        return record
    }
}
