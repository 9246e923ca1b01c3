import LightScopeCore

/// Where a flood's events go above `EventRateBucket`'s rate, or once the writer's queue is past
/// `EventPipeline.aggregationMark`: folded into aggregates per (verdict, protocol, interface, destination, destination port,
/// source network, minute), which carry how many events they stand for, their packets and a
/// few of their sources (docs/store.md, "Aggregation"). The network is the source's /24
/// (IPv4) or /48 (IPv6): an aggregate is never coarser than port x /24 x minute.
///
/// Aggregates of one (minute, verdict, protocol, interface, destination) share a block, which
/// becomes ONE store row (`AggregateBlock`, "Flood blocks"): a flood from random sources to
/// random ports, where every probe is its own aggregate, then costs the writer one row per
/// `AggregateBlock.maximumEntries` probes. A block is closed (packed into its bytes, about 9
/// per IPv4 aggregate) when it is full, when its minute has ended, or on stop.
///
/// On the packet loop, per event: the last block used is compared before the open blocks are
/// looked up by key, and the block's own `AggregateEntryIndex` finds the aggregate.
///
/// Bounded: at most `capacity` aggregates are held, open or closed, until the writer takes
/// them; an event that would add one more is refused (the pipeline then counts it lost,
/// `aggregation`). Used under the pipeline's lock.
struct EventAggregates {
    static let ipv4PrefixLength = 24
    static let ipv6PrefixLength = 48
    /// Sources kept per aggregate, the first distinct ones seen.
    static let sampleSize = 4
    static let minuteNanos: UInt64 = 60_000_000_000
    /// Blocks open at once; one more closes the one with the oldest minute (most floods have
    /// one destination per interface and minute, a sweep of addresses has many).
    static let maximumOpenBlocks = 64

    struct BlockKey: Hashable {
        var verdict: Verdict
        var proto: TransportProtocol
        var interface: InterfaceName
        var destination: IPAddress?
        var minute: UInt64
        var isIPv6: Bool
        var hasPorts: Bool

        /// The fields the synthesised `==` compares, inline: every folded event compares its
        /// key with the last block's, and the synthesised one was a call of ~40 instructions.
        @inline(__always)
        static func == (lhs: BlockKey, rhs: BlockKey) -> Bool {
            lhs.minute == rhs.minute && lhs.destination == rhs.destination && lhs.interface == rhs.interface
                && lhs.verdict == rhs.verdict && lhs.proto == rhs.proto && lhs.isIPv6 == rhs.isIPv6 && lhs.hasPorts == rhs.hasPorts
        }
    }

    /// One open aggregate, fixed-size: its samples inline.
    private struct Entry {
        var port: UInt16
        var sampleCount: UInt8 = 1
        var network: UInt64
        var events: UInt64 = 1
        var packets: UInt64
        var samples: (AggregateBlock.Part, AggregateBlock.Part, AggregateBlock.Part, AggregateBlock.Part)

        init(port: UInt16, network: UInt64, packets: UInt32, part: AggregateBlock.Part) {
            self.port = port
            self.network = network
            self.packets = UInt64(packets)
            samples = (part, part, part, part)
        }

        var key: UInt64 { AggregateEntryIndex.key(port: port, network: network) }

        func sample(_ index: Int) -> AggregateBlock.Part {
            switch index {
            case 0: samples.0
            case 1: samples.1
            case 2: samples.2
            default: samples.3
            }
        }

        mutating func add(_ part: AggregateBlock.Part, packets more: UInt32) {
            events += 1
            packets += UInt64(more)
            guard Int(sampleCount) < EventAggregates.sampleSize else { return }
            for index in 0..<Int(sampleCount) where sample(index) == part { return }
            switch sampleCount {
            case 1: samples.1 = part
            case 2: samples.2 = part
            default: samples.3 = part
            }
            sampleCount += 1
        }
    }

    private struct OpenBlock {
        var key: BlockKey
        var first: UnwantedEvent
        var index: AggregateEntryIndex
        var entries: [Entry]

        init(key: BlockKey, first: UnwantedEvent, spare: (AggregateEntryIndex, [Entry])?) {
            self.key = key
            self.first = first
            (index, entries) = spare ?? (AggregateEntryIndex(), [])
        }

        enum Added { case toItsAggregate, asANewAggregate, refused }

        /// Adds an event to its aggregate, or to a new one when `mayAdd`. A block that reaches
        /// `AggregateEntryIndex.small` aggregates is sized for a full block at once, so that it
        /// does not grow step by step on the packet loop.
        @inline(__always)
        mutating func add(port: UInt16, network: UInt64, part: AggregateBlock.Part, packets: UInt32, mayAdd: Bool) -> Added {
            let key = AggregateEntryIndex.key(port: port, network: network)
            var slot = index.home(key)
            while let position = index.position(at: slot) {
                if entries[position].key == key {
                    entries[position].add(part, packets: packets)
                    return .toItsAggregate
                }
                slot = index.next(slot)
            }
            guard mayAdd else { return .refused }
            if !index.fits(entries.count) {
                entries.reserveCapacity(AggregateBlock.maximumEntries)
                index = AggregateEntryIndex(entries: AggregateBlock.maximumEntries)
                for position in entries.indices { index.claim(index.emptySlot(for: entries[position].key), for: position) }
                slot = index.emptySlot(for: key)
            }
            index.claim(slot, for: entries.count)
            entries.append(Entry(port: port, network: network, packets: packets, part: part))
            return .asANewAggregate
        }
    }

    /// A block ready for the writer: its first event (the row's time, tool, flags), what it
    /// stands for, and its bytes (addresses in the clear; the writer pseudonymises them).
    struct ClosedBlock {
        var key: BlockKey
        var first: UnwantedEvent
        var aggregates: Int
        var events: Int
        var packets: UInt64
        var bytes: [UInt8]
    }

    let capacity: Int
    /// The open blocks, and where each one is in `blocks`.
    private var open: [BlockKey: Int] = [:]
    private var blocks: [OpenBlock] = []
    /// The block the last event went to: a flood's next event goes to it too, found by one
    /// comparison instead of a hash.
    private var last: Int?
    private var closed: [ClosedBlock] = []
    /// A full block's index and entries, emptied, for the next block to open: a flood's blocks
    /// follow one another without allocating.
    private var spare: (AggregateEntryIndex, [Entry])?
    /// Aggregates held, open or closed.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    var room: Int { max(0, capacity - count) }
    /// Closed blocks waiting for the writer.
    var closedBlocks: Int { closed.count }

    /// The source's network: its /24 (IPv4) or /48 (IPv6).
    static func network(of address: IPAddress) -> IPAddress {
        address.isIPv4 ? IPAddress(high: address.high, low: address.low & ~0xFF)
            : IPAddress(high: address.high & ~0xFFFF, low: 0)
    }

    enum Fold: Equatable {
        case folded
        /// Folded, and a block was closed: the writer has something to take.
        case foldedAndClosed
        /// It would add an aggregate beyond `capacity`.
        case refused
    }

    mutating func fold(_ event: UnwantedEvent) -> Fold {
        withUnsafePointer(to: event) { fold($0) }
    }

    /// `fold`, reading the event where it is: inlined into the pipeline's loop over a batch,
    /// a fold of the event itself took a copy of its 112 bytes each (a memcpy call).
    @inline(__always)
    mutating func fold(_ pointer: UnsafePointer<UnwantedEvent>) -> Fold {
        let source = pointer.pointee.source
        let isIPv6 = !source.isIPv4
        let network = isIPv6 ? source.high >> 16 : (source.low >> 8) & 0xFF_FFFF
        let part = isIPv6 ? AggregateBlock.Part(high: UInt16(truncatingIfNeeded: source.high), low: source.low)
            : AggregateBlock.Part(low: source.low & 0xFF)
        let key = BlockKey(verdict: pointer.pointee.verdict, proto: pointer.pointee.proto, interface: pointer.pointee.interfaceName,
                           destination: pointer.pointee.destination, minute: pointer.pointee.timeNanos / Self.minuteNanos,
                           isIPv6: isIPv6, hasPorts: pointer.pointee.destinationPort != nil)
        let port = pointer.pointee.destinationPort ?? 0
        let packets = pointer.pointee.packets
        if let blockIndex = last.flatMap({ blocks[$0].key == key ? $0 : nil }) ?? open[key] {
            last = blockIndex
            switch blocks[blockIndex].add(port: port, network: network, part: part, packets: packets, mayAdd: count < capacity) {
            case .toItsAggregate: return .folded
            case .refused: return .refused
            case .asANewAggregate: break
            }
            count += 1
            guard blocks[blockIndex].entries.count >= AggregateBlock.maximumEntries else { return .folded }
            close(key)
            return .foldedAndClosed
        }
        guard count < capacity else { return .refused }
        var closedOne = false
        if open.count >= Self.maximumOpenBlocks, let oldest = open.keys.min(by: { $0.minute < $1.minute }) {
            close(oldest)
            closedOne = true
        }
        var block = OpenBlock(key: key, first: pointer.pointee, spare: spare)
        spare = nil
        _ = block.add(port: port, network: network, part: part, packets: packets, mayAdd: true)
        open[key] = blocks.count
        last = blocks.count
        blocks.append(block)
        count += 1
        return closedOne ? .foldedAndClosed : .folded
    }

    /// Packs an open block into its bytes and moves it to the closed ones.
    private mutating func close(_ key: BlockKey) {
        guard let position = open.removeValue(forKey: key) else { return }
        // The last block moves into the closed one's place.
        var block = blocks[position]
        if position != blocks.count - 1 {
            blocks[position] = blocks.removeLast()
            open[blocks[position].key] = position
        } else {
            blocks.removeLast()
        }
        last = nil
        var encoder = AggregateBlock.Encoder(isIPv6: key.isIPv6, isPseudonymised: false, hasPorts: key.hasPorts, capacity: block.entries.count)
        var events: UInt64 = 0
        var packets: UInt64 = 0
        block.entries.withUnsafeBufferPointer { entries in
            guard key.isIPv6 else {
                encoder.appendIPv4(entries: entries.count) { index in
                    let entry = entries[index]
                    events += entry.events
                    packets += entry.packets
                    let samples = UInt32(truncatingIfNeeded: entry.samples.0.low & 0xFF) | UInt32(truncatingIfNeeded: entry.samples.1.low & 0xFF) << 8
                        | UInt32(truncatingIfNeeded: entry.samples.2.low & 0xFF) << 16 | UInt32(truncatingIfNeeded: entry.samples.3.low & 0xFF) << 24
                    return (port: entry.port, network: entry.network, events: entry.events, packets: entry.packets,
                            sampleCount: Int(entry.sampleCount), samples: samples)
                }
                return
            }
            encoder.append(entries: entries.count) { index in
                let entry = entries[index]
                events += entry.events
                packets += entry.packets
                return (port: entry.port, network: entry.network, events: entry.events, packets: entry.packets,
                        sampleCount: Int(entry.sampleCount), samples: entry.samples)
            }
        }
        closed.append(ClosedBlock(key: key, first: block.first, aggregates: block.entries.count, events: Int(events),
                                  packets: packets, bytes: encoder.finish()))
        if block.entries.capacity >= AggregateBlock.maximumEntries {
            // No longer in `blocks`: emptied in place.
            block.index.removeAll()
            block.entries.removeAll(keepingCapacity: true)
            spare = (block.index, block.entries)
        }
    }

    /// Takes the closed blocks, after closing those whose minute ended before `nowNanos`'s, or
    /// every open one when `nowNanos` is nil. What it takes no longer counts against `capacity`.
    mutating func take(closedBefore nowNanos: UInt64? = nil) -> [ClosedBlock] {
        let minute = nowNanos.map { $0 / Self.minuteNanos }
        for key in Array(open.keys) where minute.map({ key.minute < $0 }) ?? true { close(key) }
        guard !closed.isEmpty else { return [] }
        defer { closed.removeAll() }
        count -= closed.reduce(0) { $0 + $1.aggregates }
        return closed
    }
}

extension AddressAnonymiser {
    /// A closed block as the store holds it: one row with the block's first event's fields,
    /// `0.0.0.0/0` (`::/0`) as its source, no ports, the packets and events of all its
    /// aggregates, and the block's bytes, pseudonymised when sources are.
    func row(for block: EventAggregates.ClosedBlock) throws(AggregateBlock.Damage) -> (record: EventRecord, bytes: [UInt8]) {
        var record = record(for: block.first)
        record.source = block.key.isIPv6 ? "::/0" : "0.0.0.0/0"
        record.sourcePort = nil
        record.destinationPort = nil
        record.packets = UInt32(clamping: block.packets)
        record.ttl = nil
        record.tcpWindow = nil
        record.tcpOptions = nil
        record.aggregated = block.events
        record.samples = nil
        guard mode.anonymisesSource else { return (record, block.bytes) }
        return (record, try AggregateBlock.decode(block.bytes).pseudonymised(by: self).encoded())
    }
}
