/// The commonest frame detection reads, decoded in a straight line: Ethernet without VLAN
/// tags, IPv4 without options and unfragmented, TCP. Every SYN of a flood and every SYN-ACK
/// of the host is one; `PacketDecoder.decode` tries this first and walks its layers for
/// anything else. The general walk spends on this frame about as much on dispatch (link
/// types, VLAN tags, fragments, protocols) and on handing fields between layers as on
/// reading the fields.
///
/// Its one promise, which the tests hold it to on random and mutated frames: when it gives a
/// packet, the general walk (`PacketDecoder.decodeLayers`) gives the same packet for the same
/// bytes. Anything it is unsure of (a length that the walk would reject or cut short below
/// the TCP header, a bad data offset) it leaves to the walk, which then names the reason.
enum CommonTCPDecoder {
    /// Ethernet (14) + IPv4 without options (20) + the fixed TCP header (20).
    static let minimumLength = 54

    @inline(__always)
    static func decode(_ bytes: UnsafeRawBufferPointer) -> DecodedPacket? {
        guard bytes.count >= minimumLength,
              // EtherType IPv4, then version 4 with a header of 5 words.
              UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)) & 0xFFFF_FF00 == 0x0800_4500 else {
            return nil
        }
        let totalLength = Int(readUInt16(bytes, 16))
        let flagsAndOffset = readUInt16(bytes, 20)
        // Not a fragment (more-fragments clear, offset zero), TCP, and a declared length
        // (zero: trust the capture, as the walk does) that holds the TCP header.
        guard flagsAndOffset & 0x3FFF == 0, bytes.load(fromByteOffset: 23, as: UInt8.self) == IPProtocolNumber.tcp,
              totalLength == 0 || totalLength >= 40 else { return nil }
        let dataOffset = bytes.load(fromByteOffset: 46, as: UInt8.self)
        let headerLength = Int(dataOffset >> 4) * 4
        guard headerLength >= 20 else { return nil }
        // The options as the walk copies them: from the end of the fixed header, up to what
        // was captured within the IP total length.
        let end = totalLength == 0 ? bytes.count : min(bytes.count, 14 + totalLength)
        var cursor = ByteCursor(bytes)
        _ = cursor.skip(minimumLength)
        cursor.limit(to: end - minimumLength)
        let options = TCPOptions(parsing: &cursor, declaredLength: headerLength - 20)
        let segment = TCPSegment(sourcePort: readUInt16(bytes, 34), destinationPort: readUInt16(bytes, 36),
                                 sequence: readUInt32(bytes, 38), acknowledgement: readUInt32(bytes, 42),
                                 headerLength: UInt8(headerLength), flags: TCPFlags(rawValue: bytes.load(fromByteOffset: 47, as: UInt8.self)),
                                 window: readUInt16(bytes, 48), options: options)
        return DecodedPacket(source: IPAddress(ipv4: readUInt32(bytes, 26)), destination: IPAddress(ipv4: readUInt32(bytes, 30)),
                             isIPv6: false, ttl: bytes.load(fromByteOffset: 22, as: UInt8.self), fragment: .unfragmented,
                             ipv4Identification: readUInt16(bytes, 18), ipv4DontFragment: flagsAndOffset & 0x4000 != 0,
                             transport: .tcp(segment))
    }

    @inline(__always)
    private static func readUInt16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    private static func readUInt32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
