/// An ICMP or ICMPv6 destination unreachable. Its quoted probe is what turns "UDP datagram
/// got no answer" into "UDP port closed": the router or host names the packet it refused.
public struct ICMPUnreachable: Equatable, Sendable {
    public var isIPv6: Bool
    public var code: UInt8
    /// The start of the refused packet, when the quote held at least a valid IP header.
    public var quoted: QuotedProbe?

    public init(isIPv6: Bool, code: UInt8, quoted: QuotedProbe?) {
        self.isIPv6 = isIPv6
        self.code = code
        self.quoted = quoted
    }

    /// Port unreachable: code 3 for ICMP (RFC 792), code 4 for ICMPv6 (RFC 4443).
    @inlinable public var isPortUnreachable: Bool {
        code == (isIPv6 ? 4 : 3)
    }

    /// Fragmentation needed (ICMP code 4): path MTU discovery's answer to the host's own
    /// large packets of established connections, which no table of flows remembers.
    @inlinable public var isFragmentationNeeded: Bool {
        !isIPv6 && code == 4
    }
}

/// The packet an ICMP error quotes, as far as the quote reaches.
public struct QuotedProbe: Equatable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    /// The quoted upper-layer protocol; for IPv6, after its extension headers (or the header
    /// the walk could not step over when the quote ends inside the chain).
    public var protocolNumber: UInt8
    /// nil when the quote stops before the ports, the protocol has none, or it is a later fragment.
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    /// TTL or hop limit as the probe reached the one who answered.
    public var ttl: UInt8

    public init(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, sourcePort: UInt16?,
                destinationPort: UInt16?, ttl: UInt8) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.ttl = ttl
    }
}

/// Any ICMP or ICMPv6 message other than destination unreachable.
public struct ICMPMessage: Equatable, Sendable {
    public var isIPv6: Bool
    public var type: UInt8
    public var code: UInt8
    /// For a time exceeded, the start of the packet that ran out of hops (as far as the quote
    /// held a valid IP header): backscatter when this host never sent it.
    public var quoted: QuotedProbe?

    public init(isIPv6: Bool, type: UInt8, code: UInt8, quoted: QuotedProbe? = nil) {
        self.isIPv6 = isIPv6
        self.type = type
        self.code = code
        self.quoted = quoted
    }

    /// Time exceeded: type 11 for ICMP (RFC 792), 3 for ICMPv6 (RFC 4443).
    @inlinable public var isTimeExceeded: Bool {
        type == (isIPv6 ? 3 : 11)
    }
}

/// ICMP (RFC 792) and ICMPv6 (RFC 4443). Only destination unreachable and time exceeded are taken apart; a bad
/// or short quote still yields the message, with less of the probe in it.
enum ICMP {
    static let destinationUnreachableV4: UInt8 = 3
    static let destinationUnreachableV6: UInt8 = 1
    static let timeExceededV4: UInt8 = 11
    static let timeExceededV6: UInt8 = 3

    static func decode(_ cursor: inout ByteCursor, isIPv6: Bool) throws(DecodeRejection) -> Transport {
        // Type, code, checksum, then four bytes that are unused (or RFC 4884 lengths) for errors.
        guard let type = cursor.readUInt8(), let code = cursor.readUInt8(), cursor.skip(6) else {
            throw .truncatedICMPHeader
        }
        switch (isIPv6, type) {
        case (false, destinationUnreachableV4):
            return .icmpUnreachable(ICMPUnreachable(isIPv6: false, code: code, quoted: quotedIPv4(&cursor)))
        case (true, destinationUnreachableV6):
            return .icmpUnreachable(ICMPUnreachable(isIPv6: true, code: code, quoted: quotedIPv6(&cursor)))
        case (false, timeExceededV4):
            return .icmp(ICMPMessage(isIPv6: false, type: type, code: code, quoted: quotedIPv4(&cursor)))
        case (true, timeExceededV6):
            return .icmp(ICMPMessage(isIPv6: true, type: type, code: code, quoted: quotedIPv6(&cursor)))
        default:
            return .icmp(ICMPMessage(isIPv6: isIPv6, type: type, code: code))
        }
    }

    private static func quotedIPv4(_ cursor: inout ByteCursor) -> QuotedProbe? {
        guard let header = try? IPv4.decode(&cursor) else { return nil }
        return probe(header, &cursor)
    }

    private static func quotedIPv6(_ cursor: inout ByteCursor) -> QuotedProbe? {
        guard var header = try? IPv6.decodeFixedHeader(&cursor) else { return nil }
        let end = IPv6.walkExtensionHeaders(&cursor, nextHeader: header.protocolNumber)
        header.protocolNumber = end.protocolNumber
        header.fragment = end.fragment
        guard end.failure == nil else { return probe(header, ports: nil) }
        return probe(header, &cursor)
    }

    private static func probe(_ header: NetworkHeader, _ cursor: inout ByteCursor) -> QuotedProbe {
        guard header.fragment != .subsequent, IPProtocolNumber.opensWithPorts(header.protocolNumber),
              let sourcePort = cursor.readUInt16(), let destinationPort = cursor.readUInt16()
        else { return probe(header, ports: nil) }
        return probe(header, ports: (sourcePort, destinationPort))
    }

    private static func probe(_ header: NetworkHeader, ports: (source: UInt16, destination: UInt16)?) -> QuotedProbe {
        QuotedProbe(source: header.source, destination: header.destination, protocolNumber: header.protocolNumber,
                    sourcePort: ports?.source, destinationPort: ports?.destination, ttl: header.ttl)
    }
}
