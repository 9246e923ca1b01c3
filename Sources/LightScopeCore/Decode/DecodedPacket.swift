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
    public var transport: Transport

    public init(source: IPAddress, destination: IPAddress, isIPv6: Bool, ttl: UInt8, outerVLAN: UInt16? = nil,
                innerVLAN: UInt16? = nil, fragment: IPFragment = .unfragmented, transport: Transport) {
        self.source = source
        self.destination = destination
        self.isIPv6 = isIPv6
        self.ttl = ttl
        self.outerVLAN = outerVLAN
        self.innerVLAN = innerVLAN
        self.fragment = fragment
        self.transport = transport
    }
}

/// Where a packet sits in a fragmented datagram. Only the first fragment carries the
/// transport header, so later ones decode as `Transport.other` and are marked here.
public enum IPFragment: UInt8, Sendable {
    case unfragmented
    /// Offset zero with more fragments to follow: the transport header is (usually) here.
    case first
    /// A non-zero offset: no transport header.
    case subsequent
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
    /// Any other protocol, a later fragment, ESP, or "no next header" (59); also a first
    /// fragment too short to hold its transport header.
    case other(protocolNumber: UInt8)
}
