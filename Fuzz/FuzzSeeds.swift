import LightScopeCore

/// The seed corpus, built with the tests' own `PacketBuilder` so that the fuzzer starts from
/// well-formed conversations (probe and answer) in every link layer and mutates from there.
enum FuzzSeeds {
    private typealias P = PacketBuilder

    /// Settings byte: local addresses exact (0), prefixes (1) or learned (2); capacity 4;
    /// a realistic clock. See `FuzzInput.run`.
    private static func input(settings: UInt8 = 0x04, _ records: [[UInt8]]) -> [UInt8] {
        [settings] + records.flatMap { $0 }
    }

    /// One record: `link`, an index into `FuzzInput.linkTypes`, a time step, then the packet.
    private static func record(link linkIndex: UInt8 = 0, step: UInt8 = 1, _ packet: [UInt8]) -> [UInt8] {
        [linkIndex, step] + P.be16(UInt16(packet.count)) + packet
    }

    private static let synOptions: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7]
    private static let scanner = "203.0.113.9"
    private static let host = "192.0.2.1"

    private static func tcp4(_ source: String, _ destination: String, _ sourcePort: UInt16, _ destinationPort: UInt16,
                             flags: UInt8, options: [UInt8] = []) -> [UInt8] {
        P.ethernet(P.etherTypeIPv4, P.ipv4(source, destination, protocolNumber: 6,
                                           P.tcp(sourcePort, destinationPort, flags: flags, options: options)))
    }

    private static func tcp6(_ source: String, _ destination: String, _ sourcePort: UInt16, _ destinationPort: UInt16,
                             flags: UInt8) -> [UInt8] {
        P.ipv6(source, destination, nextHeader: 6, P.tcp(sourcePort, destinationPort, flags: flags, options: synOptions))
    }

    static func all() -> [[UInt8]] {
        let syn: UInt8 = 0x02, rst: UInt8 = 0x14, synAck: UInt8 = 0x12
        // A port scan answered by RSTs: closed events, then a portscan.
        let portScan = (20...27).flatMap { port in
            [record(tcp4(scanner, host, 40000, UInt16(port), flags: syn, options: synOptions)),
             record(tcp4(host, scanner, UInt16(port), 40000, flags: rst))]
        }
        // An address scan of one port across the /24 (prefix mode), some unanswered.
        let addressScan = (1...6).flatMap { last in
            [record(tcp4(scanner, "192.0.2.\(last)", 41000, 23, flags: syn)),
             record(step: 30, tcp4("192.0.2.\(last)", scanner, 23, 41000, flags: last % 2 == 0 ? rst : synAck))]
        }
        // Unanswered SYNs that time out on timer ticks, then a late SYN to an open port.
        let unanswered = [
            record(tcp4(scanner, host, 42000, 8080, flags: syn)),
            record(tcp4(scanner, host, 42000, 443, flags: syn)),
            record(tcp4(host, scanner, 443, 42000, flags: synAck)),
            record(step: 0xF4, []),
            record(step: 0xF4, []),
            record(tcp4(scanner, host, 42001, 443, flags: syn)),
            record(step: 0xFF, tcp4(scanner, host, 42002, 9999, flags: syn)),
            record(step: 0xFA, []),
        ]
        // IPv6 over raw IP (index 1), with RSTs and a SYN-ACK.
        let ipv6 = (1...4).flatMap { port in
            [record(link: 1, tcp6("2001:db8::99", "2001:db8::1", 50000, UInt16(port), flags: syn)),
             record(link: 1, tcp6("2001:db8::1", "2001:db8::99", UInt16(port), 50000, flags: port == 4 ? synAck : rst))]
        }
        // UDP probes answered by ICMP and ICMPv6 port unreachable.
        let udpProbe = P.ipv4(scanner, host, ttl: 50, protocolNumber: 17, P.udp(33434, 161, payload: [1, 2, 3, 4]))
        let udpProbeV6 = P.ipv6("2001:db8::99", "2001:db8::1", hopLimit: 40, nextHeader: 60,
                                P.optionsHeader(next: 17, lengthUnits: 1) + P.udp(50000, 5353))
        let udp = [
            record(P.ethernet(P.etherTypeIPv4, udpProbe)),
            record(P.ethernet(P.etherTypeIPv4, P.ipv4(host, scanner, protocolNumber: 1, P.icmpUnreachable(code: 3, quoting: udpProbe)))),
            record(link: 1, P.ipv6("2001:db8::1", "2001:db8::99", nextHeader: 58, P.icmpv6Unreachable(code: 4, quoting: udpProbeV6))),
        ]
        // Every link layer once: cooked v1/v2 (2, 3), NULL (4), loop (5), QinQ, fragments, AH.
        let links = [
            record(link: 2, P.linuxCooked(P.etherTypeIPv4, P.ipv4(scanner, host, protocolNumber: 6, P.tcp(1, 22)))),
            record(link: 3, P.linuxCookedV2(P.etherTypeIPv6, P.ipv6("2001:db8::99", "2001:db8::1", nextHeader: 0,
                                                              P.optionsHeader(next: 44) + P.fragmentHeader(next: 6, offset: 0, more: true)
                                                                  + P.tcp(2, 22, options: synOptions)))),
            record(link: 4, P.null(family: 2, P.ipv4(scanner, host, protocolNumber: 6, flagsAndOffset: 0x2000, P.tcp(3, 22)))),
            record(link: 5, P.null(family: 24, bigEndian: true, P.ipv6("2001:db8::99", "2001:db8::1", nextHeader: 51,
                                                                P.authenticationHeader(next: 6) + P.tcp(4, 22)))),
            record(P.ethernet(P.etherTypeIPv4, tags: [(0x88A8, 10), (0x8100, 20)],
                              P.ipv4(scanner, host, protocolNumber: 6, options: [1, 1, 1, 0], P.tcp(5, 22, options: synOptions)))),
            record(P.ethernet(P.etherTypeIPv4, P.ipv4(scanner, host, protocolNumber: 6, flagsAndOffset: 0x0010, [UInt8]([0xAA, 0xBB])))),
        ]
        // SYNs split as `nmap -f` (8-byte pieces, IPv4) and `-ff` (16, IPv6) split them, one
        // out of order, answered; and pieces that overlap.
        let synV4 = P.tcp(43000, 25, flags: syn, options: synOptions)
        let synV6 = P.tcp(43001, 26, flags: syn, options: synOptions)
        let v4Pieces = P.fragmented(synV4, pieceBytes: 8, source: scanner, destination: host, identification: 7)
        let v6Pieces = P.fragmented(synV6, pieceBytes: 16, ipv6: true, source: "2001:db8::99", destination: "2001:db8::1",
                                    identification: 8)
        let fragments = (v4Pieces.reversed() + v6Pieces).map { record($0) } + [
            record(tcp4(host, scanner, 25, 43000, flags: rst)),
            record(P.ethernet(P.etherTypeIPv6, P.ipv6("2001:db8::1", "2001:db8::99", nextHeader: 6, P.tcp(26, 43001, flags: rst)))),
            record(v4Pieces[0]), record(v4Pieces[1]),
            record(P.ethernet(P.etherTypeIPv4, P.ipv4(scanner, host, protocolNumber: 6, flagsAndOffset: 0x2001, identification: 7,
                                                      Array(synV4[8..<24])))),
        ]
        return [
            input(fragments),
            input(portScan), input(settings: 0x01, addressScan), input(settings: 0x14, unanswered), input(ipv6),
            input(udp), input(settings: 0x02, links + portScan), input(settings: 0x20, portScan + unanswered),
            tcp4(scanner, host, 40000, 22, flags: 0x3F, options: [3, 3, 7, 2, 4, 5, 0xB4, 8, 10] + [UInt8](repeating: 0, count: 11)),
        ]
    }
}
