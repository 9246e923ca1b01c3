/// One fact about a SYN probe's headers that a tool's source code fixes.
public enum ProbeMark: Equatable, Sendable {
    /// No don't-fragment bit: an IPv4 header with DF clear, or IPv6, which has no such bit.
    /// Linux, Windows and macOS set DF on every SYN; tools that write their own IPv4 header
    /// leave it clear.
    case dontFragmentClear
    /// This IPv4 identification.
    case ipv4Identification(UInt16)
    /// An IPv4 identification equal to the low 16 bits of destination address XOR
    /// destination port XOR sequence number.
    case ipv4IdentificationFromTarget
    /// A sequence number equal to the IPv4 destination address.
    case sequenceIsDestinationAddress
    /// This TCP window.
    case window(UInt16)
    /// Exactly these TCP options, byte for byte (`TCPOptions()` for none).
    case options(TCPOptions)
    /// A non-zero acknowledgement number although the ACK flag is clear (RFC 9293 senders
    /// put zero there).
    case acknowledgementWithoutACKFlag
}

/// A tool and the marks that, all together, name it.
public struct ToolRule: Equatable, Sendable {
    public var tool: ScanTool
    public var marks: [ProbeMark]

    public init(_ tool: ScanTool, _ marks: [ProbeMark]) {
        self.tool = tool
        self.marks = marks
    }
}

/// Which tool sent a SYN, as policy apart from the matching (`ToolFingerprint`): each rule is
/// read from the tool's own source, cited here and in docs/detection.md, and proven with
/// the real tool in `ScanToolLiveTests` (Mirai, which no distribution packages, with
/// crafted packets). The first rule whose marks all hold wins.
public enum ToolRules {
    public static let standard: [ToolRule] = [
        // zmap src/probe_modules/packet.c, make_ip_header and make_tcp_header (2.x to 4.0):
        // identification 54321, window 65535, no DF. ZMap 4.1 randomises the identification
        // (commit b0190cc), so only older ZMap is named.
        ToolRule(.zmap, [.ipv4Identification(54321), .window(65535), .dontFragmentClear]),
        // nmap, before masscan: its random identification meets masscan's formula once in
        // 65,536 probes, and no masscan sends nmap's window with nmap's options (1.3.2: 1024
        // and none; its later tree: 1025 and MSS 1460).
        // nmap scan_engine_raw.cc, sendIPScanProbe: TCP_SYN_PROBE_OPTIONS (nmap.h, MSS 1460
        // alone) and no DF; tcpip.cc, build_tcp: window 1024 when none is given.
        ToolRule(.nmap, [.window(1024), .options(optionBytes([2, 4, 0x05, 0xB4])), .dontFragmentClear]),
        // masscan src/templ-pkt.c, template_set_target_ipv4:
        // `ip_id = ip_them ^ port_them ^ seqno`, from a template without DF.
        ToolRule(.masscan, [.ipv4IdentificationFromTarget, .dontFragmentClear]),
        // Mirai bot/scanner.c, scanner_init: `tcph->seq = iph->daddr`, no DF.
        ToolRule(.mirai, [.sequenceIsDestinationAddress, .dontFragmentClear]),
        // hping3 sendtcp.c, send_tcp: `th_ack = htonl(rand())` unless set, no options;
        // hping2.h: DEFAULT_SRCWINSIZE 512; sendip.c: DF only with -y.
        ToolRule(.hping3, [.window(512), .options(TCPOptions()), .acknowledgementWithoutACKFlag, .dontFragmentClear]),
    ]

    /// Options made of exactly these bytes, as a probe carries them.
    public static func optionBytes(_ bytes: [UInt8]) -> TCPOptions {
        bytes.withUnsafeBytes { TCPOptions(bytes: $0) }
    }
}
