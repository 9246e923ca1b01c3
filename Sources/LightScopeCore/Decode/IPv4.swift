/// The IPv4 header (RFC 791), options skipped by IHL. Used for the packet itself and again
/// for the header an ICMP error quotes.
enum IPv4 {
    /// Parses the header and leaves the cursor at the payload, limited to the total length so
    /// Ethernet padding or a quoted packet's missing tail is never read as payload.
    @inline(__always)
    static func decode(_ cursor: inout ByteCursor) throws(DecodeRejection) -> NetworkHeader {
        guard let versionAndLength = cursor.peekUInt8() else { throw .truncatedIPv4Header }
        guard versionAndLength >> 4 == 4 else { throw .badIPVersion }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard headerLength >= 20 else { throw .badIPv4HeaderLength }
        // Version and length, type of service, total length, identification, flags and
        // fragment offset, TTL, protocol, checksum, source, destination; then the options.
        guard let header = cursor.readHeader(20), cursor.skip(headerLength - 20) else { throw .truncatedIPv4Header }
        let totalLength = header.uint16(at: 2)
        let identification = header.uint16(at: 4)
        let flagsAndOffset = header.uint16(at: 6)
        let ttl = header.uint8(at: 8)
        let protocolNumber = header.uint8(at: 9)
        let source = IPAddress(ipv4: header.uint32(at: 12))
        let destination = IPAddress(ipv4: header.uint32(at: 16))
        // A total length of zero is what Linux shows for TSO segments it has not split yet:
        // trust the capture then, as tcpdump does.
        if totalLength != 0 {
            guard Int(totalLength) >= headerLength else { throw .badIPv4TotalLength }
            cursor.limit(to: Int(totalLength) - headerLength)
        }
        return NetworkHeader(source: source, destination: destination, isIPv6: false, ttl: ttl,
                             protocolNumber: protocolNumber, fragment: fragment(flagsAndOffset), identification: identification,
                             dontFragment: flagsAndOffset & 0x4000 != 0)
    }

    /// The fragment fields of the header at the cursor, already decoded once by `decode`.
    static func fragmentPosition(_ cursor: ByteCursor) -> FragmentPosition? {
        var header = cursor
        let start = header.offset
        guard let fixed = header.readHeader(20) else { return nil }
        let totalLength = Int(fixed.uint16(at: 2))
        let flagsAndOffset = fixed.uint16(at: 6)
        return FragmentPosition(identification: UInt32(fixed.uint16(at: 4)), offset: Int(flagsAndOffset & 0x1FFF) * 8,
                                moreFragments: flagsAndOffset & 0x2000 != 0, declaredEnd: totalLength == 0 ? nil : start + totalLength)
    }

    private static func fragment(_ flagsAndOffset: UInt16) -> IPFragment {
        let moreFragments = flagsAndOffset & 0x2000 != 0
        let offset = flagsAndOffset & 0x1FFF
        if offset != 0 { return .subsequent }
        return moreFragments ? .first : .unfragmented
    }
}
