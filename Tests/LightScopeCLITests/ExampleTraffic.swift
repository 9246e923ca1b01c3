import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport

/// The traffic behind the documents' store examples (`lightscope events`, `top`, `blocklist`,
/// `replay`): a capture of the last quarter of an hour at 192.0.2.1, whose events come from
/// the real engine (`lightscope replay`), never written by hand, so every example shows what
/// LightScope really reports.
enum ExampleTraffic {
    static let host = "192.0.2.1"
    private static let second: UInt64 = 1_000_000_000
    private static let minute = 60 * second

    /// The capture, as a file `tcpdump -w` could have written on eth0, ending just before `nowNanos`.
    static func capture(endingAt nowNanos: UInt64) -> PcapWriter {
        var writer = PcapWriter()
        // 15 minutes ago a scanner tries 15 ports; each answered by RST: 15 closed, one portscan.
        var time = nowNanos - 15 * minute
        for port: UInt16 in [21, 22, 23, 25, 80, 110, 143, 443, 445, 1433, 3306, 3389, 5432, 5900, 8080] {
            writer.add(tcp("198.51.100.77", 61000, host, port, ttl: 49, flags: 0x02, options: nmapOptions), timeNanos: time)
            writer.add(tcp(host, port, "198.51.100.77", 61000, flags: 0x14), timeNanos: time + 80_000)
            time += 20_000_000
        }
        // Telnet tried twice by one sender, from Linux (its SYN options).
        for (minutes, sourcePort) in [(10, UInt16(51234)), (9, 51240)] {
            let at = nowNanos - UInt64(minutes) * minute
            writer.add(tcp("203.0.113.7", sourcePort, host, 23, ttl: 54, flags: 0x02, options: PacketBuilder.linuxSYNOptionBytes), timeNanos: at)
            writer.add(tcp(host, 23, "203.0.113.7", sourcePort, flags: 0x14), timeNanos: at + 90_000)
        }
        // A SYN to a firewalled port, sent again a second later, never answered.
        let unanswered = nowNanos - 5 * minute
        for retry in UInt64(0)...1 {
            writer.add(tcp("198.51.100.23", 40002, host, 3389, ttl: 113, flags: 0x02, options: PacketBuilder.linuxSYNOptionBytes),
                       timeNanos: unanswered + retry * second)
        }
        // A UDP datagram to SNMP, answered by port unreachable.
        let probe = PacketBuilder.ipv4("203.0.113.50", host, ttl: 243, protocolNumber: 17, PacketBuilder.udp(5000, 161))
        writer.add(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, probe), timeNanos: nowNanos - 2 * minute)
        writer.add(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                          PacketBuilder.ipv4(host, "203.0.113.50", protocolNumber: 1,
                                                             PacketBuilder.icmpUnreachable(code: 3, quoting: probe))),
                   timeNanos: nowNanos - 2 * minute + 100_000)
        return writer
    }

    /// A state directory whose store holds the events `lightscope replay` finds in `capture`,
    /// as the daemon capturing on eth0 would have stored them.
    static func filledStore(nowNanos: UInt64) throws -> FilledStateDirectory {
        let state = try FilledStateDirectory()
        let file = state.path + "/capture.pcap"
        try capture(endingAt: nowNanos).write(to: URL(fileURLWithPath: file))
        let replay = try lightscope(["replay", "--json", "--local", host + "/32", file])
        guard replay.status == 0 else { throw TestFailure("replay failed: \(replay.errors)") }
        let records = try replay.lines.map { line in
            var record = try EventJSON.decode(line)
            record.interface = "eth0"
            return record
        }
        try state.insert(records)
        try FileManager.default.removeItem(atPath: file)
        return state
    }

    /// nmap's SYN options: MSS 1460 alone, in a 1024-byte window.
    private static let nmapOptions: [UInt8] = [2, 4, 0x05, 0xB4]

    private static func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16,
                            ttl: UInt8 = 64, flags: UInt8, options: [UInt8] = []) -> [UInt8] {
        PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                               PacketBuilder.ipv4(source, destination, ttl: ttl, protocolNumber: 6,
                                                  PacketBuilder.tcp(sourcePort, destinationPort, flags: flags,
                                                                    window: options == nmapOptions ? 1024 : 64240, options: options)))
    }
}
