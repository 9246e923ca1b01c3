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
        header.hasExtensionHeaders = end.steppedOverHeaders
        return header
    }

    /// The fragment header's fields of the packet at the cursor, already decoded once by `decode`.
    static func fragmentPosition(_ cursor: ByteCursor) -> FragmentPosition? {
        var header = cursor
        let start = header.offset
        guard let fixed = try? decodeFixedHeader(&header) else { return nil }
        let end = walkExtensionHeaders(&header, nextHeader: fixed.protocolNumber)
        var lengthField = cursor
        guard end.failure == nil, end.fragment != .unfragmented, lengthField.skip(4), let payloadLength = lengthField.readUInt16()
        else { return nil }
        return FragmentPosition(identification: end.fragmentIdentification, offset: end.fragmentOffset, moreFragments: end.moreFragments,
                                declaredEnd: payloadLength == 0 ? nil : start + 40 + Int(payloadLength))
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
        /// The walk stepped over at least one extension header.
        var steppedOverHeaders = false
        /// From the fragment header, if there was one (offset in bytes).
        var fragmentIdentification: UInt32 = 0
        var fragmentOffset = 0
        var moreFragments = false

        func failed(_ reason: DecodeRejection) -> ChainEnd {
            var end = self
            end.failure = reason
            return end
        }
    }

    /// Steps over hop-by-hop, routing, fragment, destination-options and AH headers, and stops
    /// at anything else: an upper layer, ESP (50, opaque) or No Next Header (59). A fragment
    /// header with a non-zero offset also stops the walk, since what follows is mid-datagram.
    static func walkExtensionHeaders(_ cursor: inout ByteCursor, nextHeader first: UInt8) -> ChainEnd {
        var end = ChainEnd(protocolNumber: first, fragment: .unfragmented)
        for _ in 0..<maximumExtensionHeaders {
            switch end.protocolNumber {
            case hopByHop, routing, destinationOptions:
                // Length in 8-octet units, not counting the first 8.
                guard let following = cursor.readUInt8(), let length = cursor.readUInt8(),
                      cursor.skip(Int(length) * 8 + 6)
                else { return end.failed(.truncatedIPv6ExtensionHeader) }
                end.protocolNumber = following
            case authentication:
                // Length in 4-octet units, minus 2 (RFC 4302).
                guard let following = cursor.readUInt8(), let length = cursor.readUInt8(),
                      cursor.skip(Int(length) * 4 + 6)
                else { return end.failed(.truncatedIPv6ExtensionHeader) }
                end.protocolNumber = following
            case fragmentHeader:
                guard let following = cursor.readUInt8(), cursor.skip(1), let offsetAndFlags = cursor.readUInt16(),
                      let identification = cursor.readUInt32()
                else { return end.failed(.truncatedIPv6ExtensionHeader) }
                end.protocolNumber = following
                end.steppedOverHeaders = true
                end.fragmentIdentification = identification
                end.fragmentOffset = Int(offsetAndFlags >> 3) * 8
                end.moreFragments = offsetAndFlags & 1 != 0
                if end.fragmentOffset != 0 {
                    end.fragment = .subsequent
                    return end
                }
                // Offset zero without M is an atomic fragment (RFC 6946): a whole datagram.
                if end.moreFragments { end.fragment = .first }
                continue
            default:
                return end
            }
            end.steppedOverHeaders = true
        }
        switch end.protocolNumber {
        case hopByHop, routing, fragmentHeader, authentication, destinationOptions:
            return end.failed(.ipv6ExtensionChainTooLong)
        default:
            return end
        }
    }
}
