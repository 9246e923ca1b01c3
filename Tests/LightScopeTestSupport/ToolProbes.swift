/// SYN probes built field by field as each tool's source builds them (see `ToolRules` for
/// where), as IPv4 packets with valid checksums, for tests that cannot run the tool: Mirai,
/// which no distribution packages, and the unit tests of each rule's marks.
public enum ToolProbes {
    /// Mirai's telnet scanner (bot/scanner.c): sequence number = destination address, TTL 64,
    /// no DF, no options, a random identification and a window fixed per bot.
    public static func mirai(from source: String, to destination: String, port: UInt16 = 23,
                             sourcePort: UInt16 = 48_213, identification: UInt16 = 0x9A3C, window: UInt16 = 0x51F7) -> [UInt8] {
        let target = ipv4Value(destination)
        return probe(source, destination, identification: identification, ttl: 64,
                     PacketBuilder.tcp(sourcePort, port, sequence: target, flags: 0x02, window: window))
    }

    /// ZMap 2.1 to 4.0 (packet.c): identification 54321, TTL 255, no DF, window 65535, no options.
    public static func zmap(from source: String, to destination: String, port: UInt16 = 80, sequence: UInt32 = 0x0CD1_D832) -> [UInt8] {
        probe(source, destination, identification: 54321, ttl: 255,
              PacketBuilder.tcp(60_892, port, sequence: sequence, flags: 0x02, window: 65535))
    }

    /// Masscan 1.3 (templ-pkt.c): identification = destination ^ port ^ sequence, TTL 255, no DF,
    /// window 1024, no options.
    public static func masscan(from source: String, to destination: String, port: UInt16 = 443, sequence: UInt32 = 0xAD6E_B3C5) -> [UInt8] {
        let identification = UInt16(truncatingIfNeeded: ipv4Value(destination) ^ UInt32(port) ^ sequence)
        return probe(source, destination, identification: identification, ttl: 255,
                     PacketBuilder.tcp(59_515, port, sequence: sequence, flags: 0x02, window: 1024))
    }

    /// nmap -sS (scan_engine_raw.cc): random identification and TTL, no DF, window 1024, MSS 1460 alone.
    public static func nmap(from source: String, to destination: String, port: UInt16 = 22) -> [UInt8] {
        probe(source, destination, identification: 0x7FB2, ttl: 47,
              PacketBuilder.tcp(56_251, port, sequence: 0xDE91_D750, flags: 0x02, window: 1024, options: [2, 4, 0x05, 0xB4]))
    }

    /// hping3 -S (sendtcp.c): random sequence and acknowledgement, window 512, no options, TTL 64, no DF.
    public static func hping3(from source: String, to destination: String, port: UInt16 = 80) -> [UInt8] {
        probe(source, destination, identification: 0xE549, ttl: 64,
              PacketBuilder.tcp(1671, port, sequence: 0x31D5_9EBE, acknowledgement: 0x3DFC_B3E6, flags: 0x02, window: 512))
    }

    /// A Linux client's SYN (connect(2)): DF, TTL 64, window 64240, the usual options.
    public static func linuxClient(from source: String, to destination: String, port: UInt16 = 80) -> [UInt8] {
        probe(source, destination, identification: 0x2D58, ttl: 64, dontFragment: true,
              PacketBuilder.tcp(57_698, port, sequence: 0xA28A_360D, flags: 0x02, window: 64240, options: PacketBuilder.linuxSYNOptionBytes))
    }

    /// An IPv4 packet around `segment`, with both checksums filled in.
    public static func probe(_ source: String, _ destination: String, identification: UInt16, ttl: UInt8,
                             dontFragment: Bool = false, _ segment: [UInt8]) -> [UInt8] {
        var packet = PacketBuilder.ipv4(source, destination, ttl: ttl, protocolNumber: 6, flagsAndOffset: dontFragment ? 0x4000 : 0,
                                        identification: identification,
                                        PacketBuilder.checksummed(segment, source: source, destination: destination))
        var sum: UInt32 = 0
        for index in stride(from: 0, to: 20, by: 2) { sum += UInt32(packet[index]) << 8 | UInt32(packet[index + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        packet.replaceSubrange(10..<12, with: PacketBuilder.be16(~UInt16(sum)))
        return packet
    }

    private static func ipv4Value(_ text: String) -> UInt32 {
        PacketBuilder.address(text).reduce(0) { $0 << 8 | UInt32($1) }
    }
}
