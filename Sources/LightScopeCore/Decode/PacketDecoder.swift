/// Turns one captured frame into a `DecodedPacket`, or names why it cannot. Pure: no I/O, no
/// allocation, no Foundation, so the capture loop can call it per packet and tests can feed
/// it bytes. Each layer lives in its own file and reads only through `ByteCursor`.
public enum PacketDecoder {
    /// - Parameters:
    ///   - bytes: the captured bytes (up to snaplen); only read during the call.
    ///   - linkType: the handle's `pcap_datalink` value (see `LinkType`).
    /// - Throws: the first reason the packet could not be decoded. A transport header cut
    ///   short in a first fragment is not a rejection: the packet decodes as `.other`, or as
    ///   `.tcpFragment` for TCP, whose header `FragmentReassembler` can put together.
    public static func decode(_ bytes: UnsafeRawBufferPointer, linkType: Int32) throws(DecodeRejection) -> DecodedPacket {
        if linkType == LinkType.ethernet, let packet = CommonTCPDecoder.decode(bytes) { return packet }
        return try decodeLayers(bytes, linkType: linkType)
    }

    /// `decode` layer by layer, for every frame (`CommonTCPDecoder` takes the commonest first).
    static func decodeLayers(_ bytes: UnsafeRawBufferPointer, linkType: Int32) throws(DecodeRejection) -> DecodedPacket {
        guard !bytes.isEmpty else { throw .empty }
        var cursor = ByteCursor(bytes)
        let link = try LinkLayer.decode(&cursor, linkType: linkType)
        let network = switch link.network {
        case .ipv4: try IPv4.decode(&cursor)
        case .ipv6: try IPv6.decode(&cursor)
        }
        return DecodedPacket(source: network.source, destination: network.destination, isIPv6: network.isIPv6,
                             ttl: network.ttl, outerVLAN: link.outerVLAN, innerVLAN: link.innerVLAN,
                             fragment: network.fragment, ipv4Identification: network.identification,
                             ipv4DontFragment: network.dontFragment, transport: try transport(&cursor, network, linkType: linkType),
                             direction: link.direction, hasExtensionHeaders: network.hasExtensionHeaders)
    }

    @inline(__always)
    private static func transport(_ cursor: inout ByteCursor, _ network: NetworkHeader,
                                  linkType: Int32) throws(DecodeRejection) -> Transport {
        let protocolNumber = network.protocolNumber
        if network.fragment != .unfragmented, protocolNumber == IPProtocolNumber.tcp,
           let piece = tcpPiece(cursor, isIPv6: network.isIPv6, linkType: linkType) {
            return .tcpFragment(piece)
        }
        guard network.fragment != .subsequent else { return .other(protocolNumber: protocolNumber) }
        do throws(DecodeRejection) {
            switch protocolNumber {
            case IPProtocolNumber.tcp: return .tcp(try TCP.decode(&cursor))
            case IPProtocolNumber.udp: return .udp(try UDP.decode(&cursor))
            case IPProtocolNumber.icmp: return try ICMP.decode(&cursor, isIPv6: false)
            case IPProtocolNumber.icmpv6: return try ICMP.decode(&cursor, isIPv6: true)
            default: return .other(protocolNumber: protocolNumber)
            }
        } catch where network.fragment == .first && error.isTruncation {
            // A first fragment may legitimately end before its transport header does.
            return .other(protocolNumber: protocolNumber)
        }
    }

    /// A TCP fragment's piece of the header, unless it holds none of it (it starts past the
    /// largest header) or all of it (a first fragment holding the whole header decodes as TCP,
    /// as an ordinary large datagram's does). `cursor` is at the piece; the link and IP headers
    /// are read again for the fragment's fields: fragments are rare, and keeping them out of
    /// `NetworkHeader` keeps every other packet's decoding as it was.
    @inline(never)
    private static func tcpPiece(_ cursor: ByteCursor, isIPv6: Bool, linkType: Int32) -> TCPFragment? {
        var networkHeader = cursor.restarted()
        guard (try? LinkLayer.decode(&networkHeader, linkType: linkType)) != nil,
              let position = isIPv6 ? IPv6.fragmentPosition(networkHeader) : IPv4.fragmentPosition(networkHeader),
              position.offset < TCP.maximumHeaderLength else { return nil }
        let captured = cursor.remaining
        if position.offset == 0, let headerLength = TCP.declaredHeaderLength(cursor), captured >= max(headerLength, 20) {
            return nil
        }
        let length = position.declaredEnd.map { $0 - cursor.offset } ?? captured
        return TCPFragment(identification: position.identification, offset: UInt16(position.offset),
                           length: UInt16(clamping: length), moreFragments: position.moreFragments,
                           capturedStart: UInt32(cursor.offset), capturedLength: UInt16(clamping: captured))
    }
}
