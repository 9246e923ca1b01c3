/// The fields IPv4 and IPv6 headers share once parsed, the common input of the transport
/// decoders and of the ICMP quoted-probe parser, which reads the same headers a second time.
struct NetworkHeader {
    var source: IPAddress
    var destination: IPAddress
    var isIPv6: Bool
    var ttl: UInt8
    /// The upper-layer protocol: after the IPv6 extension chain, or where the walk stopped.
    var protocolNumber: UInt8
    var fragment: IPFragment
    /// IPv4 only: the identification field and the don't-fragment bit.
    var identification: UInt16?
    var dontFragment = false
    /// IPv6 only: the transport header came after extension headers.
    var hasExtensionHeaders = false
}

/// Where a fragment lies in its datagram, read again from its IP header only for the rare
/// fragment whose TCP header the reassembler must put together (`PacketDecoder`), so that
/// every other packet's header stays as small as it was.
struct FragmentPosition {
    var identification: UInt32
    /// In bytes, from the start of the datagram's payload.
    var offset: Int
    var moreFragments: Bool
    /// Where the fragment's payload ends in the packet as its header declares; nil when the
    /// header leaves it to the capture (an IPv4 total length of zero, an IPv6 jumbogram).
    var declaredEnd: Int?
}

/// IANA protocol numbers the decoder dispatches on.
enum IPProtocolNumber {
    static let icmp: UInt8 = 1
    static let tcp: UInt8 = 6
    static let udp: UInt8 = 17
    static let dccp: UInt8 = 33
    static let icmpv6: UInt8 = 58
    static let sctp: UInt8 = 132
    static let udpLite: UInt8 = 136

    /// Transports whose header opens with 16-bit source and destination ports, which is all an
    /// ICMP error needs to name the probe it answers.
    static func opensWithPorts(_ protocolNumber: UInt8) -> Bool {
        switch protocolNumber {
        case tcp, udp, dccp, sctp, udpLite: true
        default: false
        }
    }
}
