/// One flow the host started (an outbound SYN or UDP datagram), as `OutboundFlows` keeps it:
/// a keyed 64-bit fingerprint of its protocol, remote address and both ports, 16 bytes in
/// all, for either address family. A false match (two flows of one fingerprint) can only
/// hide one backscatter packet; it can never make one.
struct OutboundFlowRecord: TableRecord {
    var fingerprint: UInt64
    var stamp = RecordStamp()
    private var spare: UInt8 = 0

    init(fingerprint: UInt64) { self.fingerprint = fingerprint }

    var key: OutboundFlowKey { OutboundFlowKey(fingerprint: fingerprint) }
}

struct OutboundFlowKey: FastHashKey, BitwiseCopyable {
    var fingerprint: UInt64

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 { seed.hash(fingerprint, 0) }
}

/// One victim's backscatter in its current minute: what its first answer said, and how many
/// answers came. 52 bytes, for either address family.
struct BackscatterVictimRecord: TableRecord {
    var victim: PackedAddress
    var local: PackedAddress
    var packets: UInt32
    var victimPort: UInt16
    var localPort: UInt16
    var stamp = RecordStamp()
    var answer: UInt8
    var ttl: UInt8
    /// 1: UDP (as the ICMP error quoted it), 0: TCP.
    var isUDP: UInt8
    /// The capture clock's generation at the first answer (`CaptureTimeline`).
    var generation: UInt8
    /// Bit 0: later answers came from other victim ports; bit 1: to other local ports.
    var variedPorts: UInt8 = 0

    init(victim: IPAddress, victimPort: UInt16, local: IPAddress, localPort: UInt16, isUDP: Bool,
         answer: BackscatterAnswer, ttl: UInt8, generation: UInt8) {
        self.victim = PackedAddress(victim)
        self.local = PackedAddress(local)
        packets = 0
        self.victimPort = victimPort
        self.localPort = localPort
        self.answer = answer.rawValue
        self.ttl = ttl
        self.isUDP = isUDP ? 1 : 0
        self.generation = generation
    }

    var key: IPAddress { victim.address }
}
