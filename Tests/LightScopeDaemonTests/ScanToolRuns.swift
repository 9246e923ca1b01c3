import Foundation
import LightScopeTestSupport

/// The real scanners run from a lab's peer against its host, each bounded by `timeout` and
/// by what it is told to send; each returns what the tool printed.
enum ScanToolRuns {
    /// ZMap refuses private and reserved targets by default, and sends its frames to the
    /// gateway's MAC: an empty blocklist, the host's MAC as gateway, one /32 target.
    static func zmap(_ lab: NamespaceLab, port: UInt16, probes: Int) throws -> String {
        let blocklist = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("zmap-blocklist-\(UUID().uuidString)")
        try Data().write(to: blocklist)
        defer { try? FileManager.default.removeItem(at: blocklist) }
        return try lab.run(in: lab.peer, ["timeout", "20", "zmap", "--target-port=\(port)", "--interface=\(lab.peerInterface)",
                                          "--gateway-mac=\(try lab.hostMACText())", "--blacklist-file=\(blocklist.path)",
                                          "--max-targets=1", "--probes=\(probes)", "--rate=100", "--cooldown-time=1",
                                          "--output-file=/dev/null", "\(lab.hostIPv4)/32"]).output
    }

    static func masscan(_ lab: NamespaceLab, ports: String) throws -> String {
        try lab.run(in: lab.peer, ["timeout", "20", "masscan", "--ports", ports, "--rate", "100", "--adapter", lab.peerInterface,
                                   "--router-mac", try lab.hostMACText(), "--wait", "0", lab.hostIPv4]).output
    }

    /// `nmap -sS` over IPv4 (`-4`) or IPv6 (`-6`), one try per port.
    static func nmap(_ lab: NamespaceLab, family: String, ports: String) throws -> String {
        try lab.run(in: lab.peer, ["timeout", "25", "nmap", family, "-sS", "-Pn", "-n", "-p", ports, "--max-retries", "0",
                                   family == "-6" ? lab.hostIPv6 : lab.hostIPv4]).output
    }

    static func hping3(_ lab: NamespaceLab, port: UInt16, count: Int) throws -> String {
        try lab.run(in: lab.peer, ["timeout", "20", "hping3", "-S", "-p", String(port), "-c", String(count), "-i", "u20000",
                                   lab.hostIPv4], allowFailure: true).output
    }

    /// Mirai's scanner, as its source builds the probe (`ToolProbes.mirai`), from the peer's interface.
    static func mirai(_ lab: NamespaceLab, ports: [UInt16]) throws {
        let probes = ports.enumerated().map { index, port in
            PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                   ToolProbes.mirai(from: lab.peerIPv4, to: lab.hostIPv4, port: port, identification: 0x1001 &* UInt16(index + 1)))
        }
        try lab.sendFrames(fromPeer: probes)
    }
}
