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

        /// Fewer, packed words than the synthesised hash (which feeds every field and each
        /// optional's tag): folding runs on a packet loop, once per event past the mark.
        func hash(into hasher: inout Hasher) {
            hasher.combine(UInt64(verdict.caseIndex) | (proto == .tcp ? 0 : 1 << 8)
                | UInt64(destinationPort ?? 0) << 16 | (destinationPort == nil ? 0 : 1 << 32) | (destination == nil ? 0 : 1 << 33))
            hasher.combine(destination?.high ?? 0)
            hasher.combine(destination?.low ?? 0)
            hasher.combine(network.high)
            hasher.combine(network.low)
            hasher.combine(minute)
            hasher.combine(interface)
        }
    }

    /// One open aggregate: its first event (time, tool, flags), what it has folded so far.
    struct Aggregate {
        var key: Key
        var first: UnwantedEvent
        var events: Int
        var packets: UInt64
        /// The first `sampleCount` are the samples, in the order seen: kept inline, so that
        /// opening an aggregate allocates nothing (a random flood opens one for most events).
        /// As many slots as `sampleSize`.
        private var sampleSlots: (IPAddress, IPAddress, IPAddress, IPAddress)
        private var sampleCount = 0

        /// Empty: `first` is only what it shows of its events; `add` counts it, and each next one.
        init(key: Key, first: UnwantedEvent) {
            self.key = key
            self.first = first
            events = 0
            packets = 0
            sampleSlots = (first.source, first.source, first.source, first.source)
        }

        /// The sources kept, the first distinct ones seen (at most `sampleSize`).
        var samples: [IPAddress] {
            var slots = sampleSlots
            return withUnsafePointer(to: &slots) { tuple in
                tuple.withMemoryRebound(to: IPAddress.self, capacity: EventAggregates.sampleSize) {
                    Array(UnsafeBufferPointer(start: $0, count: sampleCount))
                }
            }
        }

        mutating func add(_ event: UnwantedEvent) {
            events += 1
            packets += UInt64(event.packets)
            guard sampleCount < EventAggregates.sampleSize else { return }
            let source = event.source
            let count = sampleCount
            let isNew = withUnsafeMutablePointer(to: &sampleSlots) { tuple in
                tuple.withMemoryRebound(to: IPAddress.self, capacity: EventAggregates.sampleSize) { slots in
                    guard !UnsafeBufferPointer(start: slots, count: count).contains(source) else { return false }
                    slots[count] = source
                    return true
                }
            }
            if isNew { sampleCount += 1 }
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
        // One hash of the key, whether it opens an aggregate or adds to one (this runs on a
        // packet loop, under the pipeline's lock).
        guard open.count < capacity else {
            guard let index = open.index(forKey: key) else { return false }
            open.values[index].add(event)
            return true
        }
        open[key, default: Aggregate(key: key, first: event)].add(event)
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
