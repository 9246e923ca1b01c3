/// The IPv4 header (RFC 791), options skipped by IHL. Used for the packet itself and again
/// for the header an ICMP error quotes.
enum IPv4 {
    /// Parses the header and leaves the cursor at the payload, limited to the total length so
    /// Ethernet padding or a quoted packet's missing tail is never read as payload.
    @inline(__always)
    static func decode(_ cursor: inout ByteCursor) throws(DecodeRejection) -> NetworkHeader {
        guard let versionAndLength = cursor.readUInt8() else { throw .truncatedIPv4Header }
        guard versionAndLength >> 4 == 4 else { throw .badIPVersion }
        let headerLength = Int(versionAndLength & 0x0F) * 4
        guard headerLength >= 20 else { throw .badIPv4HeaderLength }
        guard cursor.skip(1), // type of service
              let totalLength = cursor.readUInt16(),
              cursor.skip(2), // identification
              let flagsAndOffset = cursor.readUInt16(),
              let ttl = cursor.readUInt8(),
              let protocolNumber = cursor.readUInt8(),
              cursor.skip(2), // checksum
              let source = cursor.readIPv4Address(),
              let destination = cursor.readIPv4Address(),
              cursor.skip(headerLength - 20) // options
        else { throw .truncatedIPv4Header }
        // A total length of zero is what Linux shows for TSO segments it has not split yet:
        // trust the capture then, as tcpdump does.
        if totalLength != 0 {
            guard Int(totalLength) >= headerLength else { throw .badIPv4TotalLength }
            cursor.limit(to: Int(totalLength) - headerLength)
        }
        return NetworkHeader(source: source, destination: destination, isIPv6: false, ttl: ttl,
                             protocolNumber: protocolNumber, fragment: fragment(flagsAndOffset))
    }

    private static func fragment(_ flagsAndOffset: UInt16) -> IPFragment {
        let moreFragments = flagsAndOffset & 0x2000 != 0
        let offset = flagsAndOffset & 0x1FFF
        if offset != 0 { return .subsequent }
        return moreFragments ? .first : .unfragmented
    }
}
