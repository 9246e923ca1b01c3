/// The IPv6 header (RFC 8200) and its extension-header chain. Used for the packet itself and
/// again for the header an ICMPv6 error quotes.
enum IPv6 {
    /// The bound on the extension-header walk. Real traffic carries two or three; a longer
    /// chain is either an attack on middleboxes or an attempt to hide the transport header.
    static let maximumExtensionHeaders = 8

    static let hopByHop: UInt8 = 0
    static let routing: UInt8 = 43
    static let fragmentHeader: UInt8 = 44
    static let authentication: UInt8 = 51
    static let destinationOptions: UInt8 = 60

    /// Parses the fixed header and the extension chain; leaves the cursor at the upper-layer
    /// header, limited to the payload length.
    static func decode(_ cursor: inout ByteCursor) throws(DecodeRejection) -> NetworkHeader {
        var header = try decodeFixedHeader(&cursor)
        let end = walkExtensionHeaders(&cursor, nextHeader: header.protocolNumber)
        if let failure = end.failure { throw failure }
        header.protocolNumber = end.protocolNumber
        header.fragment = end.fragment
        return header
    }

    /// The 40-byte fixed header alone; `protocolNumber` is its Next Header field.
    static func decodeFixedHeader(_ cursor: inout ByteCursor) throws(DecodeRejection) -> NetworkHeader {
        guard let first = cursor.peekUInt8() else { throw .truncatedIPv6Header }
        guard first >> 4 == 6 else { throw .badIPVersion }
        // Version, traffic class and flow label, payload length, next header, hop limit,
        // source, destination.
        guard let header = cursor.readHeader(40) else { throw .truncatedIPv6Header }
        let payloadLength = header.uint16(at: 4)
        let nextHeader = header.uint8(at: 6)
        let hopLimit = header.uint8(at: 7)
        let source = IPAddress(high: header.uint64(at: 8), low: header.uint64(at: 16))
        let destination = IPAddress(high: header.uint64(at: 24), low: header.uint64(at: 32))
        // Both families share one address type, which holds IPv4 as ::ffff:a.b.c.d.
        guard !source.isIPv4, !destination.isIPv4 else { throw .ipv4MappedAddress }
        // Zero means a jumbogram, whose real length hides in a hop-by-hop option: use the capture.
        if payloadLength != 0 {
            cursor.limit(to: Int(payloadLength))
        }
        return NetworkHeader(source: source, destination: destination, isIPv6: true, ttl: hopLimit,
                             protocolNumber: nextHeader, fragment: .unfragmented)
    }

    /// Where an extension-header walk ended. On failure, `protocolNumber` is the header the
    /// walk could not step over, which is still worth reporting for a quoted packet.
    struct ChainEnd {
        var protocolNumber: UInt8
        var fragment: IPFragment
        var failure: DecodeRejection?
    }

    /// Steps over hop-by-hop, routing, fragment, destination-options and AH headers, and stops
    /// at anything else: an upper layer, ESP (50, opaque) or No Next Header (59). A fragment
    /// header with a non-zero offset also stops the walk, since what follows is mid-datagram.
    static func walkExtensionHeaders(_ cursor: inout ByteCursor, nextHeader first: UInt8) -> ChainEnd {
        var nextHeader = first
        var fragment = IPFragment.unfragmented
        for _ in 0..<maximumExtensionHeaders {
            switch nextHeader {
            case hopByHop, routing, destinationOptions:
                // Length in 8-octet units, not counting the first 8.
                guard let following = cursor.readUInt8(), let length = cursor.readUInt8(),
                      cursor.skip(Int(length) * 8 + 6)
                else { return ChainEnd(protocolNumber: nextHeader, fragment: fragment, failure: .truncatedIPv6ExtensionHeader) }
                nextHeader = following
            case authentication:
                // Length in 4-octet units, minus 2 (RFC 4302).
                guard let following = cursor.readUInt8(), let length = cursor.readUInt8(),
                      cursor.skip(Int(length) * 4 + 6)
                else { return ChainEnd(protocolNumber: nextHeader, fragment: fragment, failure: .truncatedIPv6ExtensionHeader) }
                nextHeader = following
            case fragmentHeader:
                guard let following = cursor.readUInt8(), cursor.skip(1), let offsetAndFlags = cursor.readUInt16(),
                      cursor.skip(4) // identification
                else { return ChainEnd(protocolNumber: nextHeader, fragment: fragment, failure: .truncatedIPv6ExtensionHeader) }
                if offsetAndFlags >> 3 != 0 {
                    return ChainEnd(protocolNumber: following, fragment: .subsequent, failure: nil)
                }
                // Offset zero without M is an atomic fragment (RFC 6946): a whole datagram.
                if offsetAndFlags & 1 != 0 { fragment = .first }
                nextHeader = following
            default:
                return ChainEnd(protocolNumber: nextHeader, fragment: fragment, failure: nil)
            }
        }
        switch nextHeader {
        case hopByHop, routing, fragmentHeader, authentication, destinationOptions:
            return ChainEnd(protocolNumber: nextHeader, fragment: fragment, failure: .ipv6ExtensionChainTooLong)
        default:
            return ChainEnd(protocolNumber: nextHeader, fragment: fragment, failure: nil)
        }
    }
}
