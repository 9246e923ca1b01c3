import LightScopeCore

/// Builds packets byte by byte, layer by layer, so decoder tests state exactly what is on
/// the wire. Checksums are left zero: the decoder does not verify them.
public enum PacketBuilder {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeIPv6: UInt16 = 0x86DD

    public static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    public static func be32(_ value: UInt32) -> [UInt8] { be16(UInt16(value >> 16)) + be16(UInt16(value & 0xFFFF)) }

    /// 4 bytes for IPv4 text, 16 for IPv6 text (IPv4-mapped text stays 16 bytes in an IPv6 header).
    public static func address(_ text: String, sixteenBytes: Bool = false) -> [UInt8] {
        // IPv4-mapped IPv6 text, which `IPAddress` refuses, as the 16 bytes a hostile header carries.
        if text.lowercased().hasPrefix("::ffff:"), let ipv4 = IPAddress(String(text.dropFirst(7))), ipv4.isIPv4 {
            return ipv4.bytes
        }
        guard let parsed = IPAddress(text) else { preconditionFailure("bad test address \(text)") }
        return parsed.isIPv4 && !sixteenBytes ? Array(parsed.bytes[12...]) : parsed.bytes
    }

    // MARK: Link layers

    /// Ethernet II; each tag is a TPID (0x8100, 0x88a8) and a VLAN ID, outermost first.
    public static func ethernet(_ etherType: UInt16, tags: [(tpid: UInt16, id: UInt16)] = [], _ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02]
        for tag in tags { frame += be16(tag.tpid) + be16(0x2000 | tag.id) } // priority 1, to prove it is masked off
        return frame + be16(etherType) + payload
    }

    /// Linux's packet types (`linux/if_packet.h`), as cooked headers carry them.
    public static let packetHost: UInt8 = 0
    public static let packetOutgoing: UInt8 = 4

    public static func linuxCooked(_ protocolType: UInt16, hardwareType: UInt16 = 1, packetType: UInt8 = packetHost,
                                   _ payload: [UInt8]) -> [UInt8] {
        be16(UInt16(packetType)) + be16(hardwareType) + be16(6) + [2, 0, 0, 0, 0, 1, 0, 0] + be16(protocolType) + payload
    }

    public static func linuxCookedV2(_ protocolType: UInt16, hardwareType: UInt16 = 1, packetType: UInt8 = packetHost,
                                     _ payload: [UInt8]) -> [UInt8] {
        be16(protocolType) + be16(0) + be32(3) + be16(hardwareType) + [packetType, 6] + [2, 0, 0, 0, 0, 1, 0, 0] + payload
    }

    public static func null(family: UInt32, bigEndian: Bool = false, _ payload: [UInt8]) -> [UInt8] {
        (bigEndian ? be32(family) : be32(family.byteSwapped)) + payload
    }

    // MARK: Network layers

    /// IPv4; `options` must be a multiple of 4 bytes. `totalLength` and `headerWords` override
    /// the computed fields to build malformed headers.
    public static func ipv4(_ source: String, _ destination: String, ttl: UInt8 = 64, protocolNumber: UInt8,
                     options: [UInt8] = [], flagsAndOffset: UInt16 = 0x4000, totalLength: UInt16? = nil,
                     headerWords: UInt8? = nil, identification: UInt16 = 0x1234, _ payload: [UInt8]) -> [UInt8] {
        precondition(options.count % 4 == 0)
        let words = headerWords ?? UInt8(5 + options.count / 4)
        let length = totalLength ?? UInt16(20 + options.count + payload.count)
        return [0x40 | (words & 0x0F), 0] + be16(length) + be16(identification) + be16(flagsAndOffset)
            + [ttl, protocolNumber] + be16(0) + address(source) + address(destination) + options + payload
    }

    public static func ipv6(_ source: String, _ destination: String, hopLimit: UInt8 = 64, nextHeader: UInt8,
                     payloadLength: UInt16? = nil, _ payload: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(payloadLength ?? UInt16(payload.count)) + [nextHeader, hopLimit]
            + address(source, sixteenBytes: true) + address(destination, sixteenBytes: true) + payload
    }

    /// Hop-by-hop, routing or destination options: `(lengthUnits + 1) * 8` bytes, padded with PadN.
    public static func optionsHeader(next: UInt8, lengthUnits: UInt8 = 0) -> [UInt8] {
        let padding = Int(lengthUnits) * 8 + 6
        return [next, lengthUnits, 1, UInt8(padding - 2)] + [UInt8](repeating: 0, count: padding - 2)
    }

    /// Fragment header; `offset` in 8-octet units.
    public static func fragmentHeader(next: UInt8, offset: UInt16, more: Bool, identification: UInt32 = 0xCAFE) -> [UInt8] {
        [next, 0] + be16(offset << 3 | (more ? 1 : 0)) + be32(identification)
    }

    /// `segment` (a transport header and whatever follows) split into fragments of
    /// `pieceBytes` (a multiple of 8) each, as whole frames in order: IPv4 fragments, or IPv6
    /// packets with a fragment header. `nmap -f` splits into 8-byte pieces, `-ff` into 16.
    public static func fragmented(_ segment: [UInt8], pieceBytes: Int, ipv6: Bool = false, source: String, destination: String,
                                  ttl: UInt8 = 64, identification: UInt32 = 0x1234, protocolNumber: UInt8 = 6) -> [[UInt8]] {
        precondition(pieceBytes > 0 && pieceBytes % 8 == 0)
        return stride(from: 0, to: segment.count, by: pieceBytes).map { offset in
            let end = min(offset + pieceBytes, segment.count)
            let piece = Array(segment[offset..<end])
            let more = end < segment.count
            if ipv6 {
                return ethernet(etherTypeIPv6, self.ipv6(source, destination, hopLimit: ttl, nextHeader: 44,
                    fragmentHeader(next: protocolNumber, offset: UInt16(offset / 8), more: more, identification: identification) + piece))
            }
            return ethernet(etherTypeIPv4, ipv4(source, destination, ttl: ttl, protocolNumber: protocolNumber,
                                                flagsAndOffset: (more ? 0x2000 : 0) | UInt16(offset / 8),
                                                identification: UInt16(truncatingIfNeeded: identification), piece))
        }
    }

    /// A 12-byte authentication header (payload length 1: (1 + 2) * 4 octets).
    public static func authenticationHeader(next: UInt8) -> [UInt8] {
        [next, 1, 0, 0] + be32(0x100) + be32(1)
    }

    // MARK: Transport layers

    /// TCP; `options` must be a multiple of 4 bytes unless `dataOffsetWords` overrides the header length.
    public static func tcp(_ sourcePort: UInt16, _ destinationPort: UInt16, sequence: UInt32 = 0x0102_0304,
                    acknowledgement: UInt32 = 0, flags: UInt8 = 0x02, window: UInt16 = 64240,
                    options: [UInt8] = [], dataOffsetWords: UInt8? = nil, payload: [UInt8] = []) -> [UInt8] {
        precondition(dataOffsetWords != nil || options.count % 4 == 0)
        let words = dataOffsetWords ?? UInt8(5 + options.count / 4)
        return be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(acknowledgement)
            + [words << 4, flags] + be16(window) + be16(0) + be16(0) + options + payload
    }

    /// `segment` (a TCP header and any data) with its checksum filled in, over the pseudo-header
    /// of `source` and `destination` (IPv4 or IPv6), so that a real stack accepts it.
    public static func checksummed(_ segment: [UInt8], source: String, destination: String) -> [UInt8] {
        let ipv6 = source.contains(":")
        let pseudo = address(source, sixteenBytes: ipv6) + address(destination, sixteenBytes: ipv6)
            + (ipv6 ? be32(UInt32(segment.count)) + [0, 0, 0, 6] : [0, 6] + be16(UInt16(segment.count)))
        var words = pseudo + segment
        words[pseudo.count + 16] = 0
        words[pseudo.count + 17] = 0
        if words.count % 2 == 1 { words.append(0) }
        var sum: UInt32 = 0
        for index in stride(from: 0, to: words.count, by: 2) { sum += UInt32(words[index]) << 8 | UInt32(words[index + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        var result = segment
        result.replaceSubrange(16..<18, with: be16(~UInt16(sum)))
        return result
    }

    /// The options of a Linux SYN: MSS 1460, SACK permitted, timestamps, NOP, window scale 7
    /// (fingerprint `M1460,S,T,N,W7`).
    public static let linuxSYNOptionBytes: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7]
    public static var linuxSYNOptions: TCPOptions { linuxSYNOptionBytes.withUnsafeBytes { TCPOptions(bytes: $0) } }

    public static func udp(_ sourcePort: UInt16, _ destinationPort: UInt16, payload: [UInt8] = []) -> [UInt8] {
        be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + be16(0) + payload
    }

    public static func icmp(type: UInt8, code: UInt8, _ body: [UInt8] = []) -> [UInt8] {
        [type, code, 0, 0, 0, 0, 0, 0] + body
    }

    public static func icmpUnreachable(code: UInt8, quoting quoted: [UInt8]) -> [UInt8] {
        icmp(type: 3, code: code, quoted)
    }

    public static func icmpv6Unreachable(code: UInt8, quoting quoted: [UInt8]) -> [UInt8] {
        icmp(type: 1, code: code, quoted)
    }
}

