import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// The slow scan through `lightscope replay` (the real binary, default settings) over a
/// generated capture of seven hours: one source probing a new port every two to four
/// minutes, among a day's ordinary background, is one `slowscan` and no `portscan`.
final class ReplaySlowScanTests: XCTestCase {
    let scanner = "198.51.100.7"
    let host = "192.0.2.1"
    let minute: UInt64 = 60_000_000_000
    let start: UInt64 = 1_764_000_000 * 1_000_000_000

    private func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16, flags: UInt8) -> [UInt8] {
        let options: [UInt8] = flags == 0x02 ? [2, 4, 0x05, 0xB4, 4, 2, 1, 3, 3, 7] + [0, 0] : []
        return PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                      PacketBuilder.ipv4(source, destination, ttl: 51, protocolNumber: 6,
                                                         PacketBuilder.tcp(sourcePort, destinationPort, flags: flags, options: options)))
    }

    private struct Capture {
        var url: URL
        var scannerProbes: Int
        var hours: Double
    }

    /// The scanner's probes, half refused by RST and half unanswered; around them, every few
    /// seconds, background: 400 sources that each try one or two of a dozen well-known ports
    /// now and then, and clients that connect to the open port 443.
    private func writeCapture(seed: UInt64) throws -> Capture {
        var random = SplitMix64(seed: seed)
        var packets: [(time: UInt64, bytes: [UInt8])] = []
        var time = start
        var probes = 0
        while time < start + 7 * 60 * minute {
            let port = UInt16(1000 + probes * 13)
            packets.append((time, tcp(scanner, UInt16(40000 + probes), host, port, flags: 0x02)))
            if probes.isMultiple(of: 2) { packets.append((time + 300_000, tcp(host, port, scanner, UInt16(40000 + probes), flags: 0x14))) }
            probes += 1
            time += 2 * minute + UInt64(random.next(below: 120)) * 1_000_000_000
        }
        let end = time
        let wellKnown: [UInt16] = [22, 23, 25, 80, 445, 1433, 3306, 3389, 5900, 6379, 8080, 8443]
        var backgroundTime = start + 1_000_000_000
        var index = 0
        while backgroundTime < end {
            let source = "203.0.113.\(1 + random.next(below: 200))"
            let other = "100.64.\(random.next(below: 2)).\(1 + random.next(below: 100))"
            let sourcePort = UInt16(20000 + index % 40000)
            if index.isMultiple(of: 3) {
                // A client of the open port: its SYN answered by SYN-ACK, then its ACK.
                packets.append((backgroundTime, tcp(other, sourcePort, host, 443, flags: 0x02)))
                packets.append((backgroundTime + 200_000, tcp(host, 443, other, sourcePort, flags: 0x12)))
                packets.append((backgroundTime + 400_000, tcp(other, sourcePort, host, 443, flags: 0x10)))
            } else {
                // A background source: one or two well-known ports of its own (one in three refused).
                let sourceNumber = Int(source.split(separator: ".").last!)!
                let port = wellKnown[(sourceNumber + random.next(below: 2)) % wellKnown.count]
                packets.append((backgroundTime, tcp(source, sourcePort, host, port, flags: 0x02)))
                if random.next(below: 3) == 0 { packets.append((backgroundTime + 250_000, tcp(host, port, source, sourcePort, flags: 0x14))) }
            }
            index += 1
            backgroundTime += 5_000_000_000 + UInt64(random.next(below: 20)) * 1_000_000_000
        }
        var writer = PcapWriter()
        for packet in packets.sorted(by: { $0.time < $1.time }) { writer.add(packet.bytes, timeNanos: packet.time) }
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("slowscan-\(UUID().uuidString).pcap")
        try writer.write(to: url)
        return Capture(url: url, scannerProbes: probes, hours: Double(end - start) / Double(60 * minute))
    }

    func testASevenHourSlowScanIsOneSlowScanAndNoPortscan() throws {
        let capture = try writeCapture(seed: 23)
        defer { try? FileManager.default.removeItem(at: capture.url) }
        XCTAssertGreaterThanOrEqual(capture.hours, 6.9)
        let result = try runReplay([capture.url.path, "--json", "--local", "192.0.2.0/24"])
        XCTAssertEqual(result.status, 0, result.errors)
        let records = try result.output.split(separator: "\n").map { try EventJSON.decode(String($0)) }
        let failures = records.filter { $0.verdict == .closed || $0.verdict == .unanswered }
        XCTAssertEqual(failures.filter { $0.source == scanner }.count, capture.scannerProbes)
        XCTAssertGreaterThan(failures.filter { $0.source != scanner }.count, 1000, "the background fails too")
        XCTAssertEqual(records.filter { $0.verdict == .portscan || $0.verdict == .addrscan }.count, 0)
        let slow = records.filter { $0.verdict == .slowscan }
        XCTAssertEqual(slow.map(\.source), [scanner], "the scanner, once; no background source")
        guard let event = slow.first else { return }
        XCTAssertEqual(event.destination, host)
        XCTAssertGreaterThanOrEqual(event.ports ?? 0, 50)
        XCTAssertGreaterThan(event.timeNanos - start, 90 * minute, "hours into the capture")
        print("slowscan after \(event.packets) probes, \((event.timeNanos - start) / minute) minutes in, ports \(event.ports ?? 0); "
              + "\(capture.scannerProbes) scanner probes in \(capture.hours) h, \(records.count) events")

        let summary = try runReplay([capture.url.path, "--local", "192.0.2.0/24"])
        XCTAssertTrue(summary.output.contains("portscan 0, addrscan 0,"), summary.output)
        XCTAssertTrue(summary.output.contains("slowscan 1"), summary.output)
    }

    /// More failing sources than the slow-scan table holds (512 at a 4 MiB budget): the
    /// least recently active are forgotten, said on a line of their own, not as a full table.
    func testSlowScanEvictionsAreCountedApartFromTheWarning() throws {
        var writer = PcapWriter()
        for index in 0..<1000 {
            let source = "10.0.\(index / 250).\(1 + index % 250)"
            // Twice each: a source's first failure alone never reaches the table (`FirstFailureTier`).
            for port: UInt16 in [22, 23] {
                let time = start + UInt64(index) * 1_000_000 + UInt64(port) * 10_000
                writer.add(tcp(source, 40000, host, port, flags: 0x02), timeNanos: time)
                writer.add(tcp(host, port, source, 40000, flags: 0x14), timeNanos: time + 1000)
            }
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("slowscan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let capture = directory.appendingPathComponent("sources.pcap")
        try writer.write(to: capture)
        let config = directory.appendingPathComponent("lightscope.conf")
        try "[detection]\nmemory_budget_mib = 4\n".write(to: config, atomically: true, encoding: .utf8)
        let result = try runReplay([capture.path, "--local", "192.0.2.0/24", "--config", config.path])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertTrue(result.output.contains("Unwanted events: closed 2000,"), result.output)
        XCTAssertTrue(result.output.contains("Slow-scan sources forgotten before their window ended, the least recently active: 488"),
                      result.output)
        XCTAssertFalse(result.output.contains("Warning: the tables were full"), result.output)
    }
}
