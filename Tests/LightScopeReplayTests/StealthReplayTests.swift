import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Stealth scans in a capture file, through `lightscope replay` and the real binary, where
/// the scans are counted apart from the engine (issue 23, part 0): FIN probes answered by
/// RST-ACK, an unanswered Xmas probe, and an ACK scan seen only from the host's RSTs.
final class StealthReplayTests: XCTestCase {
    let finScanner = "198.51.100.7"
    let ackScanner = "198.51.100.8"
    let host = "192.0.2.1"
    let start: UInt64 = 1_764_000_000 * 1_000_000_000

    private func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16, flags: UInt8) -> [UInt8] {
        PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                               PacketBuilder.ipv4(source, destination, ttl: 51, protocolNumber: 6,
                                                  PacketBuilder.tcp(sourcePort, destinationPort, acknowledgement: 77, flags: flags)))
    }

    private func writeScans() throws -> URL {
        var writer = PcapWriter()
        var time = start
        for port in UInt16(1)...15 {
            writer.add(tcp(finScanner, 40000, host, port, flags: 0x01), timeNanos: time)
            writer.add(tcp(host, port, finScanner, 40000, flags: 0x14), timeNanos: time + 50_000)
            writer.add(tcp(ackScanner, 50000, host, 100 + port, flags: 0x10), timeNanos: time + 100_000)
            writer.add(tcp(host, 100 + port, ackScanner, 50000, flags: 0x04), timeNanos: time + 150_000)
            time += 10_000_000
        }
        writer.add(tcp(finScanner, 40001, host, 25, flags: 0x29), timeNanos: time)
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("stealth-\(UUID().uuidString).pcap")
        try writer.write(to: url)
        return url
    }

    func testStealthScansInACaptureGiveEventsAndPortscans() throws {
        let file = try writeScans()
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runReplay([file.path, "--json", "--local", "192.0.2.0/24"])
        XCTAssertEqual(result.status, 0, result.errors)
        let records = try result.output.split(separator: "\n").map { try EventJSON.decode(String($0)) }
        let fin = records.filter { $0.source == finScanner }
        XCTAssertEqual(fin.filter { $0.verdict == .closed }.compactMap(\.destinationPort).sorted(), Array(1...15), result.output)
        XCTAssertEqual(fin.filter { $0.verdict == .unanswered }.map(\.destinationPort), [25], result.output)
        XCTAssertEqual(fin.filter { $0.verdict == .portscan }.count, 1, result.output)
        XCTAssertEqual(fin.map(\.tcpFlags), Array(repeating: "F", count: 16) + ["FPU"], "each event, the scan's too, has its probe's flags")
        let ack = records.filter { $0.source == ackScanner }
        XCTAssertEqual(ack.filter { $0.verdict == .unfiltered }.compactMap(\.destinationPort).sorted(), Array(101...115), result.output)
        XCTAssertEqual(ack.filter { $0.verdict == .portscan }.map(\.ports), [15], "counted by replay's own scan detector\n\(result.output)")
        XCTAssertEqual(ack.compactMap(\.tcpFlags), [], "an ACK probe is seen from its answer alone")

        let summary = try runReplay([file.path, "--local", "192.0.2.0/24"])
        XCTAssertTrue(summary.output.contains("portscan 2"), summary.output)
        XCTAssertTrue(summary.output.contains("unfiltered 15"), summary.output)
    }
}
