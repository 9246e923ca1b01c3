/// A glance at a frame before decoding it, for the commonest packet detection has no use for:
/// an unfragmented TCP segment with ACK and neither SYN nor RST, the established traffic that
/// makes up most of what a busy host carries (and what the live capture's kernel filter
/// already drops, see `CaptureFilter`). A segment without ACK is a probe (FIN, NULL, Xmas). A few loads at fixed offsets instead of a full decode, for callers
/// that see unfiltered packets (replay of a full capture).
///
/// Its one promise, which the tests hold it to on random and mutated frames: when it answers
/// true, `PacketDecoder.decode` succeeds on the same bytes and gives a TCP segment with ACK and
/// neither SYN nor RST, which `DetectionEngine.process` passes over. When unsure (VLAN tags, IP
/// options it would have to trust, IPv6 extension headers, other link types) it answers false
/// and the packet is decoded as usual.
@_spi(Replay) public struct PacketTriage: Sendable {
    /// Where the IP header starts; nil: a link type the triage leaves to the decoder.
    private let networkOffset: Int?
    /// The IP version the link layer announces (from the EtherType, or the link type itself);
    /// nil: the header's own version nibble decides, as for raw IP.
    private let linkVersion: UInt8?
    private let isEthernet: Bool

    /// For one capture's link type (`pcap_datalink`), worked out once, not per packet.
    public init(linkType: Int32) {
        isEthernet = linkType == LinkType.ethernet
        switch linkType {
        case LinkType.ethernet: (networkOffset, linkVersion) = (14, nil)
        case LinkType.raw, LinkType.rawOpenBSD, LinkType.rawFile: (networkOffset, linkVersion) = (0, nil)
        case LinkType.ipv4: (networkOffset, linkVersion) = (0, 4)
        case LinkType.ipv6: (networkOffset, linkVersion) = (0, 6)
        default: (networkOffset, linkVersion) = (nil, nil)
        }
    }

    @inline(__always)
    public func isEstablishedTCP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // The commonest frame first, in a few loads: Ethernet, then IPv4 without options
        // (EtherType 0x0800, version 4, header length 5): the walk below with its offsets
        // fixed, and the same checks.
        if isEthernet, bytes.count >= 54,
           UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)) & 0xFFFF_FF00 == 0x0800_4500 {
            return Self.ipv4CarriesTCPHeader(bytes, networkOffset: 14, headerLength: 20) && Self.isEstablished(bytes, tcpAt: 34)
        }
        guard let networkOffset, bytes.count >= networkOffset + 40 else { return false }
        var expectedVersion = linkVersion
        if isEthernet {
            switch Self.readUInt16(bytes, 12) {
            case LinkLayer.etherTypeIPv4: expectedVersion = 4
            case LinkLayer.etherTypeIPv6: expectedVersion = 6
            default: return false
            }
        }
        let version = bytes[networkOffset] >> 4
        guard expectedVersion == nil || expectedVersion == version else { return false }
        let transportOffset: Int
        if version == 4 {
            let headerLength = Int(bytes[networkOffset] & 0x0F) * 4
            transportOffset = networkOffset + headerLength
            guard headerLength >= 20, bytes.count >= transportOffset + 20,
                  Self.ipv4CarriesTCPHeader(bytes, networkOffset: networkOffset, headerLength: headerLength) else { return false }
        } else if version == 6 {
            transportOffset = networkOffset + 40
            guard bytes.count >= transportOffset + 20 else { return false }
            let payloadLength = Self.readUInt16(bytes, networkOffset + 4)
            // TCP straight after the fixed header (no extension headers), a payload length
            // (zero: a jumbogram, trust the capture) that holds the TCP header, and no
            // IPv4-mapped address, which the decoder rejects.
            guard bytes[networkOffset + 6] == IPProtocolNumber.tcp, payloadLength == 0 || payloadLength >= 20,
                  !Self.isIPv4Mapped(bytes, networkOffset + 8), !Self.isIPv4Mapped(bytes, networkOffset + 24) else {
                return false
            }
        } else {
            return false
        }
        return Self.isEstablished(bytes, tcpAt: transportOffset)
    }

    /// An IPv4 header (its bytes and 20 after it captured) that is not a fragment
    /// (more-fragments clear, offset zero), carries TCP, and declares a length (zero: trust
    /// the capture) that holds the whole TCP header.
    @inline(__always)
    private static func ipv4CarriesTCPHeader(_ bytes: UnsafeRawBufferPointer, networkOffset: Int, headerLength: Int) -> Bool {
        let totalLength = Int(readUInt16(bytes, networkOffset + 2))
        return readUInt16(bytes, networkOffset + 6) & 0x3FFF == 0 && bytes[networkOffset + 9] == IPProtocolNumber.tcp
            && (totalLength == 0 || totalLength >= headerLength + 20)
    }

    /// A captured TCP header with a sane data offset, ACK, and neither SYN nor RST.
    @inline(__always)
    private static func isEstablished(_ bytes: UnsafeRawBufferPointer, tcpAt offset: Int) -> Bool {
        bytes[offset + 12] >> 4 >= 5
            && bytes[offset + 13] & (TCPFlags.syn.rawValue | TCPFlags.rst.rawValue | TCPFlags.ack.rawValue) == TCPFlags.ack.rawValue
    }

    /// The 16 bytes at `offset` are ::ffff:a.b.c.d.
    @inline(__always)
    private static func isIPv4Mapped(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Bool {
        bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self) == 0
            && UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)) == 0x0000_FFFF
    }

    @inline(__always)
    private static func readUInt16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
}
