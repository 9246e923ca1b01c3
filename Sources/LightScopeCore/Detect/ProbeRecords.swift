/// An address in 4-byte words, so that a record holding one needs no 8-byte alignment and
/// so no padding around it. The words lie as the address's two 64-bit halves do in memory
/// (little-endian, each half's low word first), so that the compiler moves each half with one
/// 8-byte load or store, not two 4-byte ones and a shift (the slow-scan table writes and reads
/// a source and a target this way for every judged probe).
struct PackedAddress: BitwiseCopyable, Equatable {
    var word0, word1, word2, word3: UInt32

    @inline(__always)
    init(_ address: IPAddress) {
        word0 = UInt32(truncatingIfNeeded: address.high)
        word1 = UInt32(truncatingIfNeeded: address.high >> 32)
        word2 = UInt32(truncatingIfNeeded: address.low)
        word3 = UInt32(truncatingIfNeeded: address.low >> 32)
    }

    @inline(__always)
    init(word0: UInt32, word1: UInt32, word2: UInt32, word3: UInt32) {
        (self.word0, self.word1, self.word2, self.word3) = (word0, word1, word2, word3)
    }

    @inline(__always)
    var address: IPAddress {
        IPAddress(high: UInt64(word1) << 32 | UInt64(word0), low: UInt64(word3) << 32 | UInt64(word2))
    }
}

/// An IPv4 address as a key of its own (the IPv4 tables' keys are a few 32-bit words).
/// It hashes as its `IPAddress` does (the IPv4-mapped words): the scan tables share a seed,
/// and a source is hashed once for all of them (`ScanDetector.recordFailure`).
struct IPv4Key: FastHashKey, BitwiseCopyable {
    var value: UInt32

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 { seed.hash(0, 0x0000_FFFF_0000_0000 | UInt64(value)) }
}

/// An IPv4 probe's key: its two addresses and two ports in three words.
struct IPv4ProbeKey: FastHashKey, BitwiseCopyable {
    var remote: UInt32
    var local: UInt32
    var ports: UInt32

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 { seed.hash(UInt64(remote) << 32 | UInt64(local), UInt64(ports)) }
}

/// A probe's packet count, its first packet's TCP flags and the tool that sent it, in one
/// word: the count in the low 16 bits, stopping at `maximumPackets` (a retransmitting stack
/// sends a handful), the flags in the next 8, the `ScanTool` in the high 8. Naming the tool
/// and keeping the flags cost a pending probe no byte.
struct PacketsToolAndFlags: BitwiseCopyable, Equatable {
    static let maximumPackets: UInt32 = (1 << 16) - 1
    private var word: UInt32

    @inline(__always)
    init(tool: ScanTool, flags: TCPFlags) { word = UInt32(tool.rawValue) << 24 | UInt32(flags.rawValue) << 16 }

    // Inlined: a timer run reads them for every judged probe, and `tool`, left a call, cost
    // the verdict a call and a spill (~12 instructions a judged probe).
    @inline(__always) var packets: UInt32 { word & Self.maximumPackets }
    @inline(__always) var flags: TCPFlags { TCPFlags(rawValue: UInt8(truncatingIfNeeded: word >> 16)) }
    @inline(__always) var tool: ScanTool { ScanTool(rawValue: UInt8(truncatingIfNeeded: word >> 24)) ?? .unknown }

    @inline(__always)
    mutating func countPacket() {
        if word & Self.maximumPackets != Self.maximumPackets { word &+= 1 }
    }
}

/// A pending IPv4 probe: 28 bytes.
struct PendingIPv4Probe: TableRecord {
    var remote: UInt32
    var local: UInt32
    var ports: UInt32
    var counts: PacketsToolAndFlags
    /// Its first SYN's time (the timers' clock); the mark is its `CaptureTimeline` generation + 1.
    var stamp = RecordStamp()
    var ttl: UInt8
    var window: UInt16
    /// Its options' id in the engine's `TCPOptionsTable`.
    var options: UInt16

    var key: IPv4ProbeKey { IPv4ProbeKey(remote: remote, local: local, ports: ports) }
}

/// A pending probe of any other family: 52 bytes.
struct PendingWideProbe: TableRecord {
    var remote: PackedAddress
    var local: PackedAddress
    var ports: UInt32
    var counts: PacketsToolAndFlags
    var stamp = RecordStamp()
    var ttl: UInt8
    var window: UInt16
    var options: UInt16

    var key: ProbeKey {
        ProbeKey(remote: remote.address, remotePort: UInt16(truncatingIfNeeded: ports >> 16), local: local.address,
                 localPort: UInt16(truncatingIfNeeded: ports))
    }
}

/// A remote's recent connection to a local IPv4 port: 16 bytes.
struct IPv4ConnectionRecord: TableRecord {
    var remote: UInt32
    var localPort: UInt16
    var stamp = RecordStamp()

    var key: IPv4ConnectionKey { IPv4ConnectionKey(remote: remote, localPort: localPort) }
}

struct IPv4ConnectionKey: FastHashKey, BitwiseCopyable {
    var remote: UInt32
    var localPort: UInt16

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 { seed.hash(UInt64(remote), UInt64(localPort)) }
}

/// A recent connection of any other family: 28 bytes.
struct WideConnectionRecord: TableRecord {
    var remote: PackedAddress
    var localPort: UInt16
    var stamp = RecordStamp()

    var key: ConnectionKey { ConnectionKey(remote: remote.address, localPort: localPort) }
}

/// One inbound connection attempt, from the remote's point of view.
struct ProbeKey: Hashable, FastHashKey {
    var remote: IPAddress
    var local: IPAddress
    var remotePort: UInt16
    var localPort: UInt16

    init(remote: IPAddress, remotePort: UInt16, local: IPAddress, localPort: UInt16) {
        self.remote = remote
        self.local = local
        self.remotePort = remotePort
        self.localPort = localPort
    }

    /// Both ports in one word, the remote's high.
    var ports: UInt32 { UInt32(remotePort) << 16 | UInt32(localPort) }
    /// Whether the IPv4 tables hold it.
    var isIPv4: Bool { remote.isIPv4 && local.isIPv4 }

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 {
        seed.hash(remote.high, remote.low, local.high, local.low, UInt64(remotePort) << 16 | UInt64(localPort))
    }
}

/// A remote that had a real connection to a local port.
struct ConnectionKey: Hashable, FastHashKey {
    var remote: IPAddress
    var localPort: UInt16

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 {
        seed.hash(remote.high, remote.low, UInt64(localPort))
    }
}

/// A SYN waiting for its answer, with what its event will need, as the engine handles it
/// (the tables hold it packed, `PendingIPv4Probe` or `PendingWideProbe`).
struct PendingProbe {
    var key: ProbeKey
    /// The first SYN's time on the timers' clock, and the clock's generation then.
    var firstSeenNanos: UInt64
    var generation: UInt8
    var packets: UInt32
    var ttl: UInt8
    var window: UInt16
    var options: UInt16
    /// The tool its first SYN's marks named (`ToolFingerprint`).
    var tool: ScanTool
    /// Its first packet's TCP flags: SYN, or none of SYN, ACK and RST for a stealth probe.
    var flags: TCPFlags

    init(key: ProbeKey, firstSeenNanos: UInt64, generation: UInt8, packets: UInt32, ttl: UInt8, window: UInt16, options: UInt16,
         tool: ScanTool = .unknown, flags: TCPFlags = .syn) {
        self.key = key
        self.firstSeenNanos = firstSeenNanos
        self.generation = generation
        self.packets = packets
        self.ttl = ttl
        self.window = window
        self.options = options
        self.tool = tool
        self.flags = flags
    }

    @inline(__always)
    init(_ record: PendingIPv4Probe, firstSeenNanos: UInt64) {
        key = ProbeKey(remote: IPAddress(ipv4: record.remote), remotePort: UInt16(truncatingIfNeeded: record.ports >> 16),
                       local: IPAddress(ipv4: record.local), localPort: UInt16(truncatingIfNeeded: record.ports))
        self.firstSeenNanos = firstSeenNanos
        generation = record.stamp.mark &- 1
        packets = record.counts.packets
        ttl = record.ttl
        window = record.window
        options = record.options
        tool = record.counts.tool
        flags = record.counts.flags
    }

    @inline(__always)
    init(_ record: PendingWideProbe, firstSeenNanos: UInt64) {
        key = record.key
        self.firstSeenNanos = firstSeenNanos
        generation = record.stamp.mark &- 1
        packets = record.counts.packets
        ttl = record.ttl
        window = record.window
        options = record.options
        tool = record.counts.tool
        flags = record.counts.flags
    }
}
