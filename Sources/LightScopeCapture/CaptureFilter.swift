/// The kernel BPF filter: only the packets detection needs, so a busy host copies
/// almost nothing to user space.
///
/// - TCP segments with SYN or RST: inbound probes, and the host's SYN-ACK or RST answers.
/// - ICMP and ICMPv6 destination-unreachable: the answer to a UDP probe of a closed port.
///   It quotes the probe's IP and UDP headers, so the UDP probes themselves are not captured.
/// - IPv6 packets whose first header is neither TCP, UDP nor ICMPv6 (extension headers),
///   which BPF cannot walk; user space decodes the chain.
/// The same expression again behind `vlan` (and `vlan` twice, for QinQ) matches tagged frames.
public enum CaptureFilter {
    public static let untagged = [
        "(tcp[tcpflags] & (tcp-syn|tcp-rst) != 0)",
        "(icmp[icmptype] == icmp-unreach)",
        "(ip6 and ip6[6] == 6 and ip6[53] & 0x06 != 0)",
        "(ip6 and ip6[6] == 58 and ip6[40] == 1)",
        "(ip6 and ip6[6] != 6 and ip6[6] != 17 and ip6[6] != 58)",
    ].joined(separator: " or ")

    /// For link types that carry 802.1Q tags (Ethernet).
    public static let withVLAN = "(\(untagged)) or (vlan and ((\(untagged)) or (vlan and (\(untagged)))))"
}
