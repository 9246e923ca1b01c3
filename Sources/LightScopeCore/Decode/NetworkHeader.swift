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
    /// For a fragment: its IP identification, where it starts in the datagram's payload (in
    /// bytes), and whether more follow.
    var fragmentIdentification: UInt32 = 0
    var fragmentOffset: Int = 0
    var moreFragments = false
    /// IPv6 only: the transport header came after extension headers.
    var hasExtensionHeaders = false
    /// Where the payload ends in the packet as the header declares it; nil when the header
    /// leaves it to the capture (an IPv4 total length of zero, an IPv6 jumbogram).
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
