import LightScopeCore

/// The kernel BPF filter: only the packets detection needs, so a busy host copies almost
/// nothing to user space, and each in the one direction it can honestly come from.
///
/// Inbound (what others send):
/// - TCP connection attempts: SYN without ACK or RST;
/// - TCP probes with neither SYN nor ACK nor RST: the FIN, NULL and Xmas scans (`nmap -sF`,
///   `-sN`, `-sX`). Every segment of a real connection after its SYN carries ACK, so this
///   lets in no established traffic, late packets of closed connections included;
/// - IPv4 TCP fragments, whose flags BPF cannot read (`nmap -f` puts them in the second
///   fragment); user space puts the header together (`FragmentReassembler`). First in the
///   list: BPF ends the whole program, rejecting, at a load past the packet, and the TCP
///   clause loads the flags from where an 8-byte first fragment has none;
/// - IPv6 packets whose first header is neither TCP, UDP nor ICMPv6 (extension headers,
///   fragments among them), which BPF cannot walk; user space decodes the chain.
///
/// Outbound (what the host answers with, and what it starts):
/// - TCP SYN-ACK or RST;
/// - ICMP and ICMPv6 destination unreachable or time exceeded: the answer to a UDP probe of a
///   closed port. It quotes the probe's IP and UDP headers, so inbound UDP is not captured;
/// - the host's own connection attempts (SYN without ACK or RST) and UDP datagrams, so that
///   an answer to them is never taken for backscatter (`OutboundFlows`).
///
/// Inbound in an answer's shape (SYN-ACK, RST, ICMP unreachable or time exceeded), when the
/// host's addresses are known: backscatter, unless it answers what the host sent
/// (`DetectionCore+Backscatter`). Only from sources that are not the host's own addresses:
/// an inbound answer claiming one of them is a forgery that detection, on Ethernet, could
/// not tell from the host's own answer. The addresses are the host's as they are now: a loop
/// puts the filter on again when they change (`CaptureLoop.refilter`).
///
/// The direction is the kernel's own (its packet type, `inbound`/`outbound` in pcap filter
/// syntax, read by the in-kernel filter), so an answer forged to claim the host's address
/// never reaches detection: on Ethernet nothing in the packet says which way it went. What
/// the filter admits inbound only (fragments, extension chains) is not shaped like an
/// answer, and detection takes no answer so shaped (`DecodedPacket.mayBeHostAnswer`).
///
/// On loopback every packet is the host's own, sent and received at once (libpcap shows
/// the received copy only): there the clauses apply in either direction (`undirected`).
/// The same expression again behind `vlan` (and `vlan` twice, for QinQ) matches tagged frames.
public enum CaptureFilter {
    static let inboundClauses = [
        "(ip[6:2] & 0x3fff != 0 and ip[9] == 6)",
        "(tcp[tcpflags] & (tcp-ack|tcp-rst) == 0)",
        "(ip6 and ip6[6] == 6 and ip6[53] & 0x14 == 0)",
        "(ip6 and ip6[6] != 6 and ip6[6] != 17 and ip6[6] != 58)",
    ]

    static let answerClauses = [
        "(tcp[tcpflags] & tcp-rst != 0)",
        "(tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack))",
        "(icmp[icmptype] == icmp-unreach or icmp[icmptype] == icmp-timxceed)",
        "(ip6 and ip6[6] == 6 and (ip6[53] & 0x04 != 0 or ip6[53] & 0x12 == 0x12))",
        "(ip6 and ip6[6] == 58 and (ip6[40] == 1 or ip6[40] == 3))",
    ]

    /// What the host starts: its connection attempts and its UDP datagrams.
    static let hostStartClauses = [
        "(tcp[tcpflags] & (tcp-syn|tcp-ack|tcp-rst) == tcp-syn)",
        "(ip6 and ip6[6] == 6 and ip6[53] & 0x16 == 0x02)",
        "udp",
    ]

    static let outboundClauses = answerClauses + hostStartClauses

    /// For every interface but loopback, without the host's addresses: no inbound answers.
    public static let untagged = directed(hostAddresses: [])

    /// For link types that carry 802.1Q tags (Ethernet).
    public static let withVLAN = tagged(untagged)

    /// For loopback, in both spellings. Without the host's own SYNs and datagrams: on loopback
    /// every answer is the host's own, so nothing there is backscatter, and all of its UDP
    /// (the local resolver's, say) would be copied for nothing.
    public static let undirected = (inboundClauses + answerClauses).joined(separator: " or ")
    public static let undirectedWithVLAN = tagged(undirected)

    /// The directed expression: with `hostAddresses`, inbound answers from any other source too.
    public static func directed(hostAddresses: [IPAddress]) -> String {
        var expression = "(inbound and (\(inboundClauses.joined(separator: " or "))))"
            + " or (outbound and (\(outboundClauses.joined(separator: " or "))))"
        if !hostAddresses.isEmpty {
            let own = hostAddresses.sorted().map { "src host \($0)" }.joined(separator: " or ")
            expression += " or (inbound and (\(answerClauses.joined(separator: " or "))) and not (\(own)))"
        }
        return expression
    }

    private static func tagged(_ expression: String) -> String {
        "(\(expression)) or (vlan and ((\(expression)) or (vlan and (\(expression)))))"
    }

    /// One way to filter a handle: `kernel` is the program for the kernel to run; `undirected`
    /// the same clauses without direction, for libpcap to run itself (see `FilterInstaller`).
    public struct Expressions: Equatable, Sendable {
        public var kernel: String
        public var undirected: String
    }

    /// The expressions to try on a handle, best first: with VLAN tags where the link type
    /// carries them (Ethernet, `DLT_EN10MB`), then without. `hostAddresses`: the host's own,
    /// which lets inbound answers (backscatter) through from every other source.
    public static func candidates(linkType: Int32, loopback: Bool, hostAddresses: [IPAddress] = []) -> [Expressions] {
        let directed = directed(hostAddresses: hostAddresses)
        let plain = Expressions(kernel: loopback ? undirected : directed, undirected: undirected)
        let tagged = Expressions(kernel: loopback ? undirectedWithVLAN : tagged(directed), undirected: undirectedWithVLAN)
        return linkType == 1 ? [tagged, plain] : [plain]
    }
}
