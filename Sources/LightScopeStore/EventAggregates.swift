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
/// On the packet loop, per event: the event's fields are compared with the last block's key
/// before the open blocks are looked up by key, and the block's own `AggregateEntryIndex`
/// finds the aggregate; no array is written there (`OpenFloodBlock`: the open blocks and
/// their aggregates are memory the table owns by pointer, hence noncopyable).
///
/// Bounded: at most `capacity` aggregates are held, open or closed, until the writer takes
/// them; an event that would add one more is refused (the pipeline then counts it lost,
/// `aggregation`). Used under the pipeline's lock. Sendable though it holds pointers: the
/// memory they point to is its own, never shared (noncopyable), and goes where it goes.
struct EventAggregates: ~Copyable, @unchecked Sendable {
    static let ipv4PrefixLength = 24
    static let ipv6PrefixLength = 48
    /// Sources kept per aggregate, the first distinct ones seen.
    static let sampleSize = 4
    static let minuteNanos: UInt64 = 60_000_000_000
    /// Blocks open at once; one more closes the one with the oldest minute, the first opened
    /// among several (most floods have one destination per interface and minute, a sweep of
    /// addresses has many).
    static let maximumOpenBlocks = 64

    struct BlockKey: Hashable {
        var verdict: Verdict
        var proto: TransportProtocol
        var interface: InterfaceName
        var destination: IPAddress?
        var minute: UInt64
        var isIPv6: Bool
        var hasPorts: Bool

        /// The fields the synthesised `==` compares, inline (the synthesised one was a call of
        /// ~40 instructions): the open blocks' Dictionary compares keys on each lookup.
        @inline(__always)
        static func == (lhs: BlockKey, rhs: BlockKey) -> Bool {
            lhs.minute == rhs.minute && lhs.destination == rhs.destination && lhs.interface == rhs.interface
                && lhs.verdict == rhs.verdict && lhs.proto == rhs.proto && lhs.isIPv6 == rhs.isIPv6 && lhs.hasPorts == rhs.hasPorts
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
    /// The open blocks, `openCount` of them from the first, in room for `maximumOpenBlocks`
    /// the table allocates once and frees when it ends (with every block still open in it).
    private let blocks: UnsafeMutablePointer<OpenFloodBlock>
    private var openCount = 0
    /// Where the block the last event went to is in `blocks` (-1: none): a flood's next event
    /// goes to it too, found by comparing its fields with the block's key.
    private var last = -1
    /// The next block's `serial`.
    private var opened: UInt64 = 0
    private var closed: [ClosedBlock] = []
    /// A full block's memory, emptied, for the next block to open: a flood's blocks follow one
    /// another without allocating.
    private var spare: OpenFloodBlock.Emptied?
    /// Aggregates held, open or closed.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        blocks = .allocate(capacity: Self.maximumOpenBlocks)
    }

    deinit {
        for position in 0..<openCount { _ = blocks[position].deallocate(keepingFull: false) }
        blocks.deinitialize(count: openCount)
        blocks.deallocate()
        if let spare {
            spare.index.deallocate()
            spare.entries.deallocate()
        }
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
    /// a fold of the event itself took a copy of its 112 bytes each (a memcpy call). The last
    /// block's case inline, any other out of line.
    @inline(__always)
    mutating func fold(_ pointer: UnsafePointer<UnwantedEvent>) -> Fold {
        let isIPv6 = !pointer.pointee.source.isIPv4
        guard last >= 0, blocks[last].holds(pointer, isIPv6: isIPv6) else { return foldElsewhere(pointer, isIPv6: isIPv6) }
        return add(pointer, isIPv6: isIPv6, toBlockAt: last)
    }

    /// Adds the event to the open block at `position`, whose key is the event's.
    @inline(__always)
    private mutating func add(_ pointer: UnsafePointer<UnwantedEvent>, isIPv6: Bool, toBlockAt position: Int) -> Fold {
        let source = pointer.pointee.source
        let port = pointer.pointee.destinationPort ?? 0
        // Read before the block is changed through `blocks`: the same expressions as
        // arguments of the mutating call crashed the compiler's ThreadSanitizer build (Swift
        // 6.3.1, an invalid bitcast of this noncopyable table's fields).
        let mayAdd = count < capacity
        let block = blocks + position
        let added = isIPv6
            ? block.pointee.add(port: port, network: source.high >> 16,
                                ipv6Sample: AggregateBlock.Part(high: UInt16(truncatingIfNeeded: source.high), low: source.low),
                                packets: pointer.pointee.packets, mayAdd: mayAdd)
            : block.pointee.add(port: port, network: (source.low >> 8) & 0xFF_FFFF, ipv4Sample: UInt32(truncatingIfNeeded: source.low & 0xFF),
                                packets: pointer.pointee.packets, mayAdd: mayAdd)
        switch added {
        case .toItsAggregate: return .folded
        case .refused: return .refused
        case .asANewAggregate: break
        }
        count &+= 1
        guard blocks[position].count >= AggregateBlock.maximumEntries else { return .folded }
        close(at: position)
        return .foldedAndClosed
    }

    /// `fold` of an event that is not the last block's: another open block's, or a new block's.
    @inline(never)
    private mutating func foldElsewhere(_ pointer: UnsafePointer<UnwantedEvent>, isIPv6: Bool) -> Fold {
        let key = BlockKey(verdict: pointer.pointee.verdict, proto: pointer.pointee.proto, interface: pointer.pointee.interfaceName,
                           destination: pointer.pointee.destination, minute: pointer.pointee.timeNanos / Self.minuteNanos,
                           isIPv6: isIPv6, hasPorts: pointer.pointee.destinationPort != nil)
        if let position = open[key] {
            last = position
            return add(pointer, isIPv6: isIPv6, toBlockAt: position)
        }
        guard count < capacity else { return .refused }
        var closedOne = false
        if openCount >= Self.maximumOpenBlocks {
            close(at: oldestBlock())
            closedOne = true
        }
        (blocks + openCount).initialize(to: OpenFloodBlock(key: key, first: pointer.pointee, serial: opened, spare: spare))
        opened += 1
        spare = nil
        open[key] = openCount
        last = openCount
        openCount += 1
        _ = add(pointer, isIPv6: isIPv6, toBlockAt: last)
        return closedOne ? .foldedAndClosed : .folded
    }

    /// Where the open block of the oldest minute is, the first opened among several.
    private func oldestBlock() -> Int {
        var oldest = 0
        for position in 1..<max(1, openCount) where (blocks[position].key.minute, blocks[position].serial)
            < (blocks[oldest].key.minute, blocks[oldest].serial) {
            oldest = position
        }
        return oldest
    }

    /// Packs the open block at `position` into its bytes and moves it to the closed ones.
    private mutating func close(at position: Int) {
        let block = (blocks + position).move()
        openCount -= 1
        open[block.key] = nil
        if position != openCount {
            // The last block moves into the closed one's place.
            (blocks + position).moveInitialize(from: blocks + openCount, count: 1)
            open[blocks[position].key] = position
        }
        last = -1
        closed.append(block.packed())
        if let emptied = block.deallocate(keepingFull: spare == nil) { spare = emptied }
    }

    /// Takes the closed blocks, after closing those whose minute ended before `nowNanos`'s, or
    /// every open one when `nowNanos` is nil. What it takes no longer counts against `capacity`.
    /// Open blocks are closed in the order they were opened: the same events make the same
    /// rows in the same order, whatever the table (a Dictionary's order differed between two).
    mutating func take(closedBefore nowNanos: UInt64? = nil) -> [ClosedBlock] {
        let minute = nowNanos.map { $0 / Self.minuteNanos }
        let blocks = self.blocks
        let ending = (0..<openCount).filter { position in minute.map { blocks[position].key.minute < $0 } ?? true }
            .map { (serial: blocks[$0].serial, key: blocks[$0].key) }.sorted { $0.serial < $1.serial }
        for (_, key) in ending {
            if let position = open[key] { close(at: position) }
        }
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
