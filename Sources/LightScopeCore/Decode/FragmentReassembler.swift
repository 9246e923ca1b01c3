/// Puts together the TCP headers that scanners split across IP fragments (`nmap -f` puts 8
/// bytes of the header in each, so the flags are in the second), just far enough to read
/// the header: the datagram's first `TCP.maximumHeaderLength` bytes, nothing after them.
///
/// Fed the `.tcpFragment` pieces the decoder makes, with the bytes of the packet each came
/// from; hands back the reassembled header as a packet (`IPFragment.reassembled`) once its
/// last byte is in, and forgets the datagram then, as the kernel does. Pure: time comes with
/// each piece, the bytes are read during the call only.
///
/// Bounded, because fragments are what a flood is cheapest made of: at most `capacity`
/// datagrams, kept in arrival order; the oldest is pushed out for a new one when full, and
/// any is dropped `timeout` after its first fragment. Datagrams whose fragments overlap are
/// dropped (see `PartialTCPHeader`). Each outcome is counted (`FragmentCounters`).
///
/// Its memory comes from the detection budget's fragments share (`DetectionTable.fragments`),
/// which every packet loop's reassembler draws on: the ring starts small, doubles while the
/// share has room, and halves again once a quarter full, like the detection tables.
public struct FragmentReassembler {
    /// How long a datagram may take to arrive whole: Linux's own default (`ipfrag_time`), so
    /// what the host's kernel still waits for is waited for here too.
    public static let timeout = Duration.seconds(30)
    /// Datagrams the ring has room for at first, before fragments make it grow.
    static let initialRingCapacity = 64

    /// The most datagrams, had the reassembler the whole share.
    public let capacity: Int
    public private(set) var counters = FragmentCounters()

    /// The datagrams being put together, in a ring in the order they began; a slot whose
    /// datagram completed or was dropped stays (dead) until the ring's oldest end passes it.
    private var slots: [Slot] = []
    private var oldest = 0
    private var used = 0
    /// Datagrams the ring has room for now.
    private(set) var ringCapacity: Int
    /// Where each live datagram's slot is.
    private var index: FastHashTable<FragmentKey, Int32>
    /// The ring's bytes, taken from the fragments share.
    private let reservation: PoolReservation
    private let timeoutNanos = UInt64(timeout.nanoseconds)

    /// A reassembler of `capacity` datagrams, outside any budget.
    public init(capacity: Int) {
        self.init(capacity: capacity, pool: .unlimited())
    }

    /// Drawing on `budget`'s fragments share, shared with every other loop's reassembler.
    public init(budget: DetectionBudget) {
        self.init(capacity: budget.capacities.fragmentDatagrams, pool: budget.pool(.fragments))
    }

    private init(capacity: Int, pool: TableBytePool) {
        precondition(capacity > 0)
        self.capacity = capacity
        ringCapacity = min(capacity, Self.initialRingCapacity)
        index = FastHashTable(maximumCount: ringCapacity)
        reservation = PoolReservation(Self.bytes(capacity: ringCapacity), from: pool)
    }

    /// Datagrams being put together now.
    public var count: Int { index.count }

    /// Takes one piece (`packet.transport` is `.tcpFragment(piece)`) whose bytes are in
    /// `bytes`, the captured packet it was decoded from. Returns the reassembled packet when
    /// this piece completed its header; throws when that header does not decode.
    public mutating func add(_ piece: TCPFragment, of packet: DecodedPacket, bytes: UnsafeRawBufferPointer,
                             timeNanos: UInt64) throws(DecodeRejection) -> DecodedPacket? {
        expire(toNanos: timeNanos)
        // The decoder makes no piece past the header; one made elsewhere is not taken on trust.
        guard Int(piece.offset) < PartialTCPHeader.window else { return nil }
        let key = FragmentKey(source: packet.source, destination: packet.destination, identification: piece.identification,
                              isIPv6: packet.isIPv6)
        let slot = index[key].map(Int.init) ?? open(key, packet, timeNanos: timeNanos)
        let start = Int(piece.capturedStart)
        let captured = start + Int(piece.capturedLength) <= bytes.count
            ? UnsafeRawBufferPointer(rebasing: bytes[start..<start + Int(piece.capturedLength)]) : UnsafeRawBufferPointer(start: nil, count: 0)
        switch slots[slot].header.take(offset: Int(piece.offset), length: Int(piece.length), moreFragments: piece.moreFragments,
                                       captured: captured) {
        case .duplicate:
            return nil
        case .inconsistent:
            counters.overlapping &+= 1
            close(slot)
            return nil
        case .taken:
            // The header's first fragment speaks for the datagram, as the kernel's reassembly keeps it.
            if piece.offset == 0 { slots[slot].take(facts: packet) }
            guard let length = slots[slot].header.completeLength else { return nil }
            let complete = slots[slot]
            close(slot)
            let segment = try complete.header.segment(length: length)
            counters.reassembled &+= 1
            // A datagram that was fragmented had its don't-fragment bit clear.
            return DecodedPacket(source: key.source, destination: key.destination, isIPv6: key.isIPv6, ttl: complete.ttl,
                                 outerVLAN: complete.outerVLAN, innerVLAN: complete.innerVLAN, fragment: .reassembled,
                                 ipv4Identification: key.isIPv6 ? nil : UInt16(truncatingIfNeeded: key.identification),
                                 transport: .tcp(segment), direction: complete.direction,
                                 hasExtensionHeaders: complete.hasExtensionHeaders)
        }
    }

    /// Drops the datagrams whose time is up at `nowNanos`; `add` does so itself, a caller with
    /// a clock and no fragments (a quiet capture loop) may call it to let their memory go.
    public mutating func expire(toNanos nowNanos: UInt64) {
        while used > 0 {
            let candidate = slots[oldest]
            if candidate.isLive {
                guard nowNanos >= candidate.startedNanos, nowNanos - candidate.startedNanos >= timeoutNanos else { return }
                counters.expired &+= 1
                index.removeValue(forKey: candidate.key)
            }
            popOldest()
        }
        if ringCapacity > Self.initialRingCapacity && index.count <= ringCapacity / 4 {
            relayOut(ringCapacity: ringCapacity / 2)
        }
    }

    // MARK: - The ring

    private mutating func open(_ key: FragmentKey, _ packet: DecodedPacket, timeNanos: UInt64) -> Int {
        if used == ringCapacity {
            makeRoom()
        }
        if used == ringCapacity {
            if slots[oldest].isLive {
                counters.evicted &+= 1
                index.removeValue(forKey: slots[oldest].key)
            }
            popOldest()
        }
        let position = (oldest + used) % ringCapacity
        let slot = Slot(key: key, startedNanos: timeNanos, facts: packet)
        if position == slots.count { slots.append(slot) } else { slots[position] = slot }
        used += 1
        index.updateValue(Int32(position), forKey: key)
        return position
    }

    private mutating func close(_ position: Int) {
        index.removeValue(forKey: slots[position].key)
        slots[position].isLive = false
    }

    private mutating func popOldest() {
        oldest = (oldest + 1) % ringCapacity
        used -= 1
    }

    /// A full ring: half of it dead slots, it is compacted; else it doubles, if the share
    /// has room. Failing both, the caller pushes out the oldest.
    private mutating func makeRoom() {
        if index.count <= ringCapacity / 2 {
            relayOut(ringCapacity: ringCapacity)
        } else if ringCapacity < capacity {
            var grown = min(capacity, 2 * ringCapacity)
            if !reservation.resize(to: Self.bytes(capacity: grown)) {
                // What the share has left, if that is more than the ring has now.
                grown = min(grown, Self.capacity(fittingIn: reservation.bytes + reservation.pool.availableBytes))
                guard grown > ringCapacity, reservation.resize(to: Self.bytes(capacity: grown)) else { return }
            }
            relayOut(ringCapacity: grown)
        }
    }

    /// Moves the live datagrams, oldest first, into a ring of `ringCapacity` slots (the
    /// dead ones are left behind), and holds that ring's bytes.
    private mutating func relayOut(ringCapacity newCapacity: Int) {
        var live: [Slot] = []
        live.reserveCapacity(newCapacity)
        var fresh = FastHashTable<FragmentKey, Int32>(maximumCount: newCapacity)
        for offset in 0..<used {
            let slot = slots[(oldest + offset) % ringCapacity]
            guard slot.isLive else { continue }
            fresh.updateValue(Int32(live.count), forKey: slot.key)
            live.append(slot)
        }
        slots = live
        index = fresh
        oldest = 0
        used = live.count
        ringCapacity = newCapacity
        _ = reservation.resize(to: Self.bytes(capacity: newCapacity))
    }

    // MARK: - Memory

    /// The most bytes `capacity` datagrams can take: every slot of the ring, and the index
    /// at its largest.
    public static func bytes(capacity: Int) -> Int {
        let buckets = FastHashTable<FragmentKey, Int32>.buckets(forMaximumCount: capacity)
        return capacity * MemoryLayout<Slot>.stride + buckets * (MemoryLayout<FastHashTable<FragmentKey, Int32>.Slot>.stride + 1)
    }

    /// The most datagrams whose `bytes(capacity:)` fits in `budget` (0 if none does).
    public static func capacity(fittingIn budget: Int) -> Int {
        var (fits, tooMany) = (0, budget / MemoryLayout<Slot>.stride + 1)
        while tooMany - fits > 1 {
            let middle = (fits + tooMany) / 2
            if bytes(capacity: middle) <= budget { fits = middle } else { tooMany = middle }
        }
        return fits
    }

    /// One datagram: its key, when it began, what arrived of its header, and the packet
    /// facts the reassembled header will carry (those of its first fragment, once it came).
    struct Slot {
        var key: FragmentKey
        var startedNanos: UInt64
        var isLive = true
        var header = PartialTCPHeader()
        var ttl: UInt8 = 0
        var outerVLAN: UInt16?
        var innerVLAN: UInt16?
        var direction = PacketDirection.unknown
        var hasExtensionHeaders = false

        init(key: FragmentKey, startedNanos: UInt64, facts packet: DecodedPacket) {
            self.key = key
            self.startedNanos = startedNanos
            take(facts: packet)
        }

        mutating func take(facts packet: DecodedPacket) {
            ttl = packet.ttl
            outerVLAN = packet.outerVLAN
            innerVLAN = packet.innerVLAN
            direction = packet.direction
            hasExtensionHeaders = packet.hasExtensionHeaders
        }
    }
}

/// A datagram, as IP tells fragments of it apart.
struct FragmentKey: FastHashKey {
    var source: IPAddress
    var destination: IPAddress
    var identification: UInt32
    /// IPv4 and IPv6 identifications are separate spaces, even between IPv4-mapped addresses.
    var isIPv6: Bool

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 {
        seed.hash(source.high, source.low, destination.high, destination.low, UInt64(identification) << 1 | (isIPv6 ? 1 : 0))
    }
}

/// What became of fragmented datagrams, for the operator: every datagram that began ends
/// in one of these, or as a malformed header (counted with the decoder's rejections), or is
/// still being put together.
public struct FragmentCounters: Codable, Equatable, Sendable {
    /// TCP headers put together (each then goes to detection like any packet).
    public var reassembled: UInt64 = 0
    /// Dropped because fragments overlapped or disagreed on the end, as the kernel drops them.
    public var overlapping: UInt64 = 0
    /// Pushed out unfinished to make room (a fragment flood beyond the table's capacity);
    /// the kernel may still have answered one of them, unseen.
    public var evicted: UInt64 = 0
    /// Unfinished when `FragmentReassembler.timeout` ran out (the kernel gives up on them too).
    public var expired: UInt64 = 0

    public init() {}

    /// Both counts together (the interfaces' sum).
    public func adding(_ other: FragmentCounters) -> FragmentCounters {
        var sum = self
        sum.reassembled &+= other.reassembled
        sum.overlapping &+= other.overlapping
        sum.evicted &+= other.evicted
        sum.expired &+= other.expired
        return sum
    }
}
