/// What the detectors need from one packet, as a small value with no heap storage: the
/// decoder fills one per packet at millions of packets per second, and the capture buffer
/// it came from is gone once the callback returns.
public struct DecodedPacket: Equatable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    /// Whether the network header was IPv6; not derivable from the addresses, since an
    /// IPv6 header may carry IPv4-mapped addresses.
    public var isIPv6: Bool
    /// IPv4 TTL or IPv6 hop limit, as the packet arrived: a hint to the sender's OS and distance.
    public var ttl: UInt8
    /// The 12-bit VLAN ID of the first (outer) 802.1Q/802.1ad tag, if the frame carried one.
    public var outerVLAN: UInt16?
    /// The 12-bit VLAN ID of the second tag of a QinQ frame.
    public var innerVLAN: UInt16?
    public var fragment: IPFragment
    // The two IPv4 fields below sit in the padding before `transport`, so they cost no memory
    // either. Scanning tools that build their own headers leave marks in them (`ToolRules`).
    /// The IPv4 identification field; nil for IPv6, whose fixed header has none.
    public var ipv4Identification: UInt16?
    /// The IPv4 don't-fragment bit. Every common stack sets it on a SYN (path MTU discovery);
    /// scanners that write their own headers mostly leave it clear. False for IPv6.
    public var ipv4DontFragment: Bool
    public var transport: Transport
    // The two fields below come after `transport` on purpose: they fill what would be its
    // tail padding, so the packet takes no more memory for them (replay hands millions
    // between threads); `DecodedPacketTests` holds it to that.
    /// Which way the packet crossed the interface, where the capture says so.
    public var direction: PacketDirection
    /// An IPv6 packet whose transport header came after extension headers (hop-by-hop,
    /// routing, fragment, destination options, AH). The host's own answers never carry any.
    public var hasExtensionHeaders: Bool

    public init(source: IPAddress, destination: IPAddress, isIPv6: Bool, ttl: UInt8, outerVLAN: UInt16? = nil,
                innerVLAN: UInt16? = nil, fragment: IPFragment = .unfragmented, ipv4Identification: UInt16? = nil,
                ipv4DontFragment: Bool = false, transport: Transport, direction: PacketDirection = .unknown,
                hasExtensionHeaders: Bool = false) {
        self.source = source
        self.destination = destination
        self.isIPv6 = isIPv6
        self.ttl = ttl
        self.outerVLAN = outerVLAN
        self.innerVLAN = innerVLAN
        self.fragment = fragment
        self.ipv4Identification = ipv4Identification
        self.ipv4DontFragment = ipv4DontFragment
        self.transport = transport
        self.direction = direction
        self.hasExtensionHeaders = hasExtensionHeaders
    }

    /// Whether this packet can be the host's answer to a probe (a SYN-ACK, a RST, an ICMP
    /// error): not seen coming in, and shaped as the host's stack sends answers, in one
    /// unfragmented packet with no IPv6 extension headers. The live capture filter relies on
    /// the shape: it admits fragments and extension chains in the inbound direction only
    /// (see `CaptureFilter`), so on Ethernet, where no packet carries its direction, an
    /// answer of that shape would be one that came in.
    @inlinable public var mayBeHostAnswer: Bool {
        direction != .inbound && fragment == .unfragmented && !hasExtensionHeaders
    }
}

/// Where a packet sits in a fragmented datagram. Only the first fragment carries the
/// transport header, so later ones decode as `Transport.other` (or `Transport.tcpFragment`)
/// and are marked here.
public enum IPFragment: UInt8, Sendable {
    case unfragmented
    /// Offset zero with more fragments to follow: the transport header is (usually) here.
    case first
    /// A non-zero offset: no transport header.
    case subsequent
    /// A TCP header that `FragmentReassembler` put together from several fragments.
    case reassembled
}

/// Which way a packet crossed the capturing interface. Linux cooked captures (SLL and SLL2:
/// the `any` device, `tcpdump -i any` files) carry the kernel's packet type; Ethernet and
/// raw IP carry nothing, and the packet is `unknown`.
public enum PacketDirection: UInt8, Sendable {
    case unknown
    /// Received: addressed to this host, broadcast, multicast, or another host's.
    case inbound
    /// Sent by this host (the kernel's PACKET_OUTGOING).
    case outbound
}

/// The transport layer, as far as the detectors care. Payloads are plain structs, never
/// `indirect`, so building one costs no allocation.
public enum Transport: Equatable, Sendable {
    case tcp(TCPSegment)
    case udp(UDPDatagram)
    /// ICMP destination unreachable or ICMPv6 destination unreachable, with the probe it quotes.
    case icmpUnreachable(ICMPUnreachable)
    /// Any other ICMP or ICMPv6 message (echo, time exceeded, neighbour discovery, ...).
    case icmp(ICMPMessage)
    /// A fragment holding part of a TCP header that no single fragment holds whole, for
    /// `FragmentReassembler` (the caller hands it the packet's bytes).
    case tcpFragment(TCPFragment)
    /// Any other protocol, a later fragment, ESP, or "no next header" (59); also a first
    /// fragment of another protocol too short to hold its transport header.
    case other(protocolNumber: UInt8)
}

/// A piece of a TCP segment whose header was split across IP fragments (`nmap -f` puts 8
/// bytes of it in each): where the piece lies in the segment, and where its bytes lie in
/// the captured packet. Pieces that start past the largest TCP header are not made: they
/// cannot hold any of it.
public struct TCPFragment: Equatable, Sendable {
    /// The IP identification: 16 bits for IPv4, 32 from IPv6's fragment header.
    public var identification: UInt32
    /// Where the piece starts in the TCP segment, in bytes.
    public var offset: UInt16
    /// The piece's length as its IP header declares it.
    public var length: UInt16
    public var moreFragments: Bool
    /// Where the piece's bytes start in the captured packet, and how many were captured
    /// (fewer than `length` when the snapshot length cut the packet short).
    public var capturedStart: UInt32
    public var capturedLength: UInt16

    public init(identification: UInt32, offset: UInt16, length: UInt16, moreFragments: Bool,
                capturedStart: UInt32, capturedLength: UInt16) {
        self.identification = identification
        self.offset = offset
        self.length = length
        self.moreFragments = moreFragments
        self.capturedStart = capturedStart
        self.capturedLength = capturedLength
    }
}
