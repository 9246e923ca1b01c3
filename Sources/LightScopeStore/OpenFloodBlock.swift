import LightScopeCore

/// One open flood block of `EventAggregates`: its key, its first event, and its aggregates,
/// in insertion order, in memory it holds by pointer (its entries, its IPv6 samples, its
/// index's slots). `init` allocates that memory or takes a closed block's (`emptied`), and
/// `deallocate` frees it: the table that holds the block, which is noncopyable, is its one
/// owner and does one or the other for every block it opened.
///
/// Pointers, not arrays: on the packet loop a flood's every probe adds to the last block
/// used, and each array mutation there was a runtime uniqueness check (the blocks' array,
/// the block's entries, its index).
struct OpenFloodBlock {
    /// One aggregate in 32 bytes (96 with its 4 samples of 16 bytes each): an IPv4 sample is
    /// its address's last byte, the 4 of them in one word; an IPv6 block keeps its samples
    /// beside its entries (`ipv6Samples`).
    struct Entry {
        /// `AggregateEntryIndex.key`: the port above the network.
        var key: UInt64
        var events: UInt64
        var packets: UInt64
        /// IPv4: the samples' last bytes, the first in the lowest byte. IPv6: unused (0).
        var samples: UInt32
        var sampleCount: UInt8

        /// An IPv6 entry's port and /48.
        var ipv6Port: UInt16 { UInt16(truncatingIfNeeded: key >> 48) }
        var ipv6Network: UInt64 { key & 0xFFFF_FFFF_FFFF }

        @inline(__always)
        mutating func add(ipv4Sample sample: UInt32, packets more: UInt32) {
            events += 1
            packets += UInt64(more)
            guard Int(sampleCount) < EventAggregates.sampleSize else { return }
            var held = samples
            for _ in 0..<sampleCount {
                if held & 0xFF == sample { return }
                held >>= 8
            }
            samples |= sample << (8 * UInt32(sampleCount))
            sampleCount += 1
        }

        mutating func add(ipv6Sample sample: AggregateBlock.Part, to held: inout IPv6Samples, packets more: UInt32) {
            events += 1
            packets += UInt64(more)
            guard Int(sampleCount) < EventAggregates.sampleSize else { return }
            for index in 0..<Int(sampleCount) {
                let kept = index == 0 ? held.0 : index == 1 ? held.1 : index == 2 ? held.2 : held.3
                if kept == sample { return }
            }
            switch sampleCount {
            case 1: held.1 = sample
            case 2: held.2 = sample
            default: held.3 = sample
            }
            sampleCount += 1
        }
    }

    typealias IPv6Samples = (AggregateBlock.Part, AggregateBlock.Part, AggregateBlock.Part, AggregateBlock.Part)
    /// A full block's memory, emptied, for the next block to open.
    typealias Emptied = (index: AggregateEntryIndex, entries: UnsafeMutablePointer<Entry>)

    let key: EventAggregates.BlockKey
    /// The key's minute's first nanosecond: an event of that minute is at most a minute past it.
    let minuteStart: UInt64
    /// The key's verdict, protocol, family and whether it has ports in one word (`kind`),
    /// compared with an event's at once rather than field by field.
    let kind: UInt32
    let first: UnwantedEvent
    /// Which of its table's blocks this is, by the order they were opened: the order in which
    /// `take` closes them, and the tie-break among the oldest minute's.
    let serial: UInt64
    private(set) var index: AggregateEntryIndex
    private(set) var entries: UnsafeMutablePointer<Entry>
    /// An IPv6 block's samples, by entry; nil for IPv4.
    private(set) var ipv6Samples: UnsafeMutablePointer<IPv6Samples>?
    private(set) var count = 0
    private(set) var capacity: Int

    init(key: EventAggregates.BlockKey, first: UnwantedEvent, serial: UInt64, spare: Emptied?) {
        self.key = key
        minuteStart = key.minute * EventAggregates.minuteNanos
        kind = Self.kind(verdict: key.verdict, proto: key.proto, isIPv6: key.isIPv6, hasPorts: key.hasPorts)
        self.first = first
        self.serial = serial
        if let spare {
            (index, entries) = spare
            capacity = AggregateBlock.maximumEntries
        } else {
            capacity = AggregateEntryIndex.small
            index = .allocate(entries: capacity)
            entries = .allocate(capacity: capacity)
        }
        ipv6Samples = key.isIPv6 ? .allocate(capacity: capacity) : nil
    }

    /// Whether `event` (of an IPv6 source or not) belongs in this block: its key's fields
    /// compared where they are, without making the event's key.
    @inline(__always)
    func holds(_ event: UnsafePointer<UnwantedEvent>, isIPv6: Bool) -> Bool {
        let time = event.pointee.timeNanos
        return time >= minuteStart && time - minuteStart < EventAggregates.minuteNanos
            && Self.kind(verdict: event.pointee.verdict, proto: event.pointee.proto, isIPv6: isIPv6,
                         hasPorts: event.pointee.destinationPort != nil) == kind
            && event.pointee.destination == key.destination && event.pointee.interfaceName == key.interface
    }

    /// A verdict (its case, 0...6), a protocol, a family and whether there are ports, as one word.
    @inline(__always)
    static func kind(verdict: Verdict, proto: TransportProtocol, isIPv6: Bool, hasPorts: Bool) -> UInt32 {
        UInt32(truncatingIfNeeded: verdict.caseIndex) | (proto == .tcp ? 1 << 8 : 0) | (isIPv6 ? 1 << 9 : 0) | (hasPorts ? 1 << 10 : 0)
    }

    enum Added { case toItsAggregate, asANewAggregate, refused }

    /// Adds an IPv4 event (its source's last byte `sample`) to its aggregate, or to a new one
    /// when `mayAdd`: a flood's usual event, inlined into the fold, without an IPv6 sample.
    @inline(__always)
    mutating func add(port: UInt16, network: UInt64, ipv4Sample sample: UInt32, packets: UInt32, mayAdd: Bool) -> Added {
        let entryKey = AggregateEntryIndex.key(port: port, network: network, networkBits: 24)
        let (found, slot) = find(entryKey)
        if let found {
            entries[found].add(ipv4Sample: sample, packets: packets)
            return .toItsAggregate
        }
        guard mayAdd else { return .refused }
        insert(Entry(key: entryKey, events: 1, packets: UInt64(packets), samples: sample, sampleCount: 1), at: slot)
        return .asANewAggregate
    }

    /// `add` of an IPv6 event, its source below the /48 `part`.
    @inline(never)
    mutating func add(port: UInt16, network: UInt64, ipv6Sample part: AggregateBlock.Part, packets: UInt32, mayAdd: Bool) -> Added {
        let entryKey = AggregateEntryIndex.key(port: port, network: network, networkBits: 48)
        let (found, slot) = find(entryKey)
        guard let samples = ipv6Samples else { preconditionFailure("an IPv6 event in an IPv4 block") }
        if let found {
            entries[found].add(ipv6Sample: part, to: &samples[found], packets: packets)
            return .toItsAggregate
        }
        guard mayAdd else { return .refused }
        insert(Entry(key: entryKey, events: 1, packets: UInt64(packets), samples: 0, sampleCount: 1), at: slot)
        // Where the samples are after `insert`, which may have moved them to a full block's room.
        guard let grown = ipv6Samples else { preconditionFailure("an IPv6 block without its samples") }
        (grown + (count - 1)).initialize(to: (part, part, part, part))
        return .asANewAggregate
    }

    /// Where the aggregate of `entryKey` is, or nil and the empty slot where it goes.
    @inline(__always)
    private func find(_ entryKey: UInt64) -> (position: Int?, slot: Int) {
        var slot = index.home(entryKey)
        while let position = index.position(at: slot) {
            if entries[position].key == entryKey { return (position, slot) }
            slot = index.next(slot)
        }
        return (nil, slot)
    }

    /// A new aggregate, its key's empty slot `slot`. A block that reaches
    /// `AggregateEntryIndex.small` aggregates is sized for a full block at once, so that it
    /// does not grow step by step on the packet loop.
    @inline(__always)
    private mutating func insert(_ entry: Entry, at slot: Int) {
        var slot = slot
        if count == capacity {
            growToFull()
            slot = index.emptySlot(for: entry.key)
        }
        index.claim(slot, for: count)
        (entries + count).initialize(to: entry)
        count &+= 1
    }

    /// Room for a full block, its entries moved and re-indexed: the small block's memory freed.
    @inline(never)
    private mutating func growToFull() {
        precondition(capacity < AggregateBlock.maximumEntries)
        let full = AggregateBlock.maximumEntries
        let grown = UnsafeMutablePointer<Entry>.allocate(capacity: full)
        grown.moveInitialize(from: entries, count: count)
        entries.deallocate()
        entries = grown
        if let ipv6Samples {
            let grownSamples = UnsafeMutablePointer<IPv6Samples>.allocate(capacity: full)
            grownSamples.moveInitialize(from: ipv6Samples, count: count)
            ipv6Samples.deallocate()
            self.ipv6Samples = grownSamples
        }
        index.deallocate()
        index = .allocate(entries: full)
        for position in 0..<count { index.claim(index.emptySlot(for: entries[position].key), for: position) }
        capacity = full
    }

    /// Frees its memory, or empties a full block's and hands it back for the next block to
    /// open (nil if it was not full-sized). The block is not used again.
    func deallocate(keepingFull: Bool) -> Emptied? {
        entries.deinitialize(count: count)
        if let ipv6Samples {
            ipv6Samples.deinitialize(count: count)
            ipv6Samples.deallocate()
        }
        guard keepingFull && capacity == AggregateBlock.maximumEntries else {
            entries.deallocate()
            index.deallocate()
            return nil
        }
        index.removeAll()
        return (index, entries)
    }

    /// Its aggregates packed into a block's bytes (addresses in the clear), with what they
    /// stand for.
    func packed() -> EventAggregates.ClosedBlock {
        var encoder = AggregateBlock.Encoder(isIPv6: key.isIPv6, isPseudonymised: false, hasPorts: key.hasPorts, capacity: count)
        var events: UInt64 = 0
        var packets: UInt64 = 0
        let entries = self.entries
        if let ipv6Samples {
            encoder.append(entries: count) { position in
                let entry = entries[position]
                events &+= entry.events
                packets &+= entry.packets
                return (port: entry.ipv6Port, network: entry.ipv6Network, events: entry.events, packets: entry.packets,
                        sampleCount: Int(entry.sampleCount), samples: ipv6Samples[position])
            }
        } else {
            encoder.appendIPv4(entries: count) { position in
                let entry = entries[position]
                events &+= entry.events
                packets &+= entry.packets
                return (portAndNetwork: entry.key, events: entry.events, packets: entry.packets,
                        sampleCount: Int(entry.sampleCount), samples: entry.samples)
            }
        }
        return EventAggregates.ClosedBlock(key: key, first: first, aggregates: count, events: Int(events), packets: packets,
                                           bytes: encoder.finish())
    }
}
