@_spi(Replay) import LightScopeCore

// What the stages of a replay hand each other, and what its reading thread keeps.

/// What a replay's reading thread updates as it goes.
struct ReadProgress {
    var packets: UInt64 = 0
    var undecodable: UInt64 = 0
    var lastTimestamp: UInt64 = 0
    /// The engine's timers, as the packet times it is handed run them.
    var timers = PacketDrivenTimers()
    /// Puts together TCP headers split across fragments, before detection sees them.
    var reassembler: FragmentReassembler
    var packetsToDetect: OffloadedConsumer<PacketToDetect>
    /// Shown on a terminal, told the packet count when the timers run.
    var progress: ReplayProgress?

    /// What the summary says of the reading.
    func count(into summary: inout ReplaySummary) {
        summary.packets = packets
        summary.undecodable = undecodable
        summary.fragments = reassembler.counters
    }

    /// Sends on the header that a packet holding a piece of a fragmented TCP header completes,
    /// or else the piece itself (its time still runs the timers); a completed header that does
    /// not decode counts as undecodable. Out of line, and the packet decoded again here: pieces
    /// are rare, and the reading loop, which sees every packet, stays as short as it was.
    @inline(never)
    mutating func sendReassembled(bytes: UnsafeRawBufferPointer, linkType: Int32, timeNanos: UInt64) {
        guard let packet = try? PacketDecoder.decode(bytes, linkType: linkType), case .tcpFragment(let piece) = packet.transport
        else { return }
        var whole: DecodedPacket?
        do {
            whole = try reassembler.add(piece, of: packet, bytes: bytes, timeNanos: timeNanos)
        } catch {
            undecodable &+= 1
        }
        packetsToDetect.send(PacketToDetect(packet: whole ?? packet, timeNanos: timeNanos))
    }
}

/// Where detection's events go: to the tally thread, whole when they are written as JSON,
/// else only what the summary counts (`TalliedEvent`).
struct ReplayEvents {
    // Exactly one is set. Two optionals, not an enum with payloads: `send` appends through
    // optional chaining in place, where taking a payload out of an enum would share the
    // consumer's batch array and copy it on the append.
    private var tallied: OffloadedConsumer<DetectionOutput<TalliedEvent>>?
    private var whole: OffloadedConsumer<DetectionOutput<UnwantedEvent>>?
    /// Probes the engine let go before their verdict (its table was full): lost events.
    var lostProbes: UInt64 = 0

    init(tallied: OffloadedConsumer<DetectionOutput<TalliedEvent>>) { self.tallied = tallied }
    init(whole: OffloadedConsumer<DetectionOutput<UnwantedEvent>>) { self.whole = whole }

    mutating func send(_ event: UnwantedEvent) {
        if tallied != nil { tallied?.send(.event(TalliedEvent(event))) } else { whole?.send(.event(event)) }
    }

    mutating func timersRan(atNanos nowNanos: UInt64) {
        if tallied != nil { tallied?.send(.timersRan(atNanos: nowNanos)) } else { whole?.send(.timersRan(atNanos: nowNanos)) }
    }

    mutating func finish() {
        tallied?.finish()
        whole?.finish()
    }
}

/// What the detection thread hands the third: an event, or the time the engine's timers
/// ran, after the events they gave (the scan stage forgets its windows then).
enum DetectionOutput<Event> {
    case event(Event)
    case timersRan(atNanos: UInt64)
}

/// What `ReplaySummary` counts of an event, and what `ScanDetector` needs of a failure
/// (48 bytes of the event's 176 to hand between threads).
struct TalliedEvent {
    var source: IPAddress
    /// `::` when the event names none (an `addrscan`).
    var destination: IPAddress
    var timeNanos: UInt64
    var destinationPort: UInt16?
    var verdict: Verdict
    var proto: TransportProtocol
    /// For the scan events the tally thread makes from it.
    var tool: ScanTool
    var tcpFlags: TCPFlags?

    init(_ event: UnwantedEvent) {
        source = event.source
        destination = event.destination ?? IPAddress(high: 0, low: 0)
        timeNanos = event.timeNanos
        destinationPort = event.destinationPort
        verdict = event.verdict
        proto = event.proto
        tool = event.tool
        tcpFlags = event.tcpFlags
    }
}

/// A packet on its way to detection: decoded, or none (`hasPacket` false) when `PacketTriage`
/// found it needs no decoding and its time runs the engine's timers (it must reach the
/// engine in order too). Not an optional packet: the detection thread hands the engine the
/// packet's address in the batch (`packetAddress`), and an optional's payload has none.
struct PacketToDetect {
    /// A placeholder when `hasPacket` is false.
    var packet: DecodedPacket
    var timeNanos: UInt64
    var hasPacket: Bool

    init(packet: DecodedPacket, timeNanos: UInt64) {
        self.packet = packet
        self.timeNanos = timeNanos
        hasPacket = true
    }

    /// A packet that only runs the timers at `timeNanos`.
    init(timersAtNanos timeNanos: UInt64) {
        packet = Self.placeholder
        self.timeNanos = timeNanos
        hasPacket = false
    }

    private static let placeholder = DecodedPacket(source: IPAddress(high: 0, low: 0), destination: IPAddress(high: 0, low: 0),
                                                   isIPv6: false, ttl: 0, transport: .other(protocolNumber: 0))
    /// Where the packet of the element at `element` is: its first stored property, at the
    /// element's own address (`PacketToDetectTests` holds it there). A stored offset asked
    /// for each packet cost a `swift_once` check.
    @inline(__always)
    static func packetAddress(_ element: UnsafePointer<PacketToDetect>) -> UnsafePointer<DecodedPacket> {
        UnsafeRawPointer(element).assumingMemoryBound(to: DecodedPacket.self)
    }
}
