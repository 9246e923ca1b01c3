import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `lightscope replay` on captures the tests generate, through the real binary.
final class ReplayTests: XCTestCase {
    let scanner = "198.51.100.7"
    let host = "192.0.2.1"
    let second: UInt64 = 1_000_000_000
    let start: UInt64 = 1_764_000_000 * 1_000_000_000

    private func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16, flags: UInt8) -> [UInt8] {
        let options: [UInt8] = flags == 0x02 ? [2, 4, 0x05, 0xB4, 4, 2, 1, 3, 3, 7] + [0, 0] : []
        return PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                      PacketBuilder.ipv4(source, destination, ttl: 51, protocolNumber: 6,
                                                         PacketBuilder.tcp(sourcePort, destinationPort, flags: flags, options: options)))
    }

    /// A scan of 20 closed ports, one open port, one unanswered probe, one UDP probe
    /// answered by port unreachable, and an established connection's traffic.
    private func writeScenario() throws -> (URL, Int) {
        var writer = PcapWriter()
        var time = start
        for port in UInt16(1)...20 {
            writer.add(tcp(scanner, 40000, host, port, flags: 0x02), timeNanos: time)
            writer.add(tcp(host, port, scanner, 40000, flags: 0x14), timeNanos: time + 50_000)
            time += 10_000_000
        }
        writer.add(tcp(scanner, 40001, host, 443, flags: 0x02), timeNanos: time)
        writer.add(tcp(host, 443, scanner, 40001, flags: 0x12), timeNanos: time + 50_000)
        writer.add(tcp(scanner, 40001, host, 443, flags: 0x10), timeNanos: time + 100_000)
        writer.add(tcp("203.0.113.50", 40002, host, 8081, flags: 0x02), timeNanos: time + second)
        let udpProbe = PacketBuilder.ipv4("203.0.113.60", host, ttl: 40, protocolNumber: 17, PacketBuilder.udp(5000, 161))
        writer.add(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                          PacketBuilder.ipv4(host, "203.0.113.60", protocolNumber: 1,
                                                             PacketBuilder.icmpUnreachable(code: 3, quoting: udpProbe))),
                   timeNanos: time + 2 * second)
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("replay-\(UUID().uuidString).pcap")
        try writer.write(to: url)
        return (url, 45)
    }

    func testJSONEventsForEveryVerdict() throws {
        let (file, _) = try writeScenario()
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runReplay([file.path, "--json", "--local", "192.0.2.0/24"])
        XCTAssertEqual(result.status, 0, result.errors)
        let records = try result.output.split(separator: "\n").map { try EventJSON.decode(String($0)) }
        let closedTCP = records.filter { $0.verdict == .closed && $0.proto == .tcp }
        XCTAssertEqual(closedTCP.count, 20)
        XCTAssertEqual(Set(closedTCP.compactMap(\.destinationPort)), Set(1...20))
        XCTAssertTrue(closedTCP.allSatisfy { $0.source == scanner && $0.ttl == 51 && $0.tcpOptions == "M1460,S,N,W7,E" && $0.interface == "pcap" })
        XCTAssertEqual(closedTCP.first?.timeNanos, start, "the probe's capture timestamp")
        XCTAssertEqual(records.filter { $0.verdict == .portscan }.map(\.ports), [15])
        XCTAssertEqual(records.filter { $0.verdict == .unanswered }.map(\.destinationPort), [8081])
        let udp = records.filter { $0.proto == .udp }
        XCTAssertEqual(udp.map(\.verdict), [.closed])
        XCTAssertEqual(udp.first?.source, "203.0.113.60")
        XCTAssertEqual(udp.first?.destinationPort, 161)
        XCTAssertFalse(records.contains { $0.destinationPort == 443 }, "the open port is not unwanted")
        XCTAssertTrue(result.output.contains("\"time\":\"2025-11-24T16:00:00"), result.output)

        // Deterministic: the same file gives the same bytes.
        XCTAssertEqual(try runReplay([file.path, "--json", "--local", "192.0.2.0/24"]).output, result.output)
    }

    func testSummaryLearnsLocalAddressesFromAnswers() throws {
        let (file, packets) = try writeScenario()
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runReplay([file.path])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertTrue(result.output.contains("\(packets) packets"), result.output)
        XCTAssertTrue(result.output.contains("Unwanted events: closed 21, unanswered 1, portscan 1, addrscan 0, unfiltered 0, backscatter 0, slowscan 0"), result.output)
        XCTAssertTrue(result.output.contains("Local addresses learned from answers: 1"), result.output)
        XCTAssertTrue(result.output.contains("Top sources:\n  \(scanner)  20"), result.output)
        XCTAssertTrue(result.output.contains("Top ports:\n  1/tcp  1\n  2/tcp  1"), result.output)
    }

    func testATruncatedFileIsReportedAfterProcessingWhatWasReadable() throws {
        let (file, _) = try writeScenario()
        defer { try? FileManager.default.removeItem(at: file) }
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count - 30).write(to: file)
        let result = try runReplay([file.path, "--json", "--local", "192.0.2.0/24"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.errors.contains("is damaged"), result.errors)
        XCTAssertTrue(result.errors.contains("were processed"), result.errors)
        XCTAssertGreaterThanOrEqual(result.output.split(separator: "\n").count, 20, "events before the damage still come out")
    }

    /// A pcap record's seconds field is a signed 32-bit number: 0xFFFFFFFF reads as -1, which
    /// trapped the timestamp conversion. Such packets are processed as of the epoch.
    func testNegativeTimestampsInACraftedFileDoNotCrash() throws {
        var writer = PcapWriter()
        writer.add(tcp(scanner, 40000, host, 22, flags: 0x02), timeNanos: 0xFFFF_FFFF * second)
        writer.add(tcp(host, 22, scanner, 40000, flags: 0x14), timeNanos: 0xFFFF_FFFF * second + 999_999_000)
        let file = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("negative-\(UUID().uuidString).pcap")
        try writer.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runReplay([file.path, "--json", "--local", "192.0.2.0/24"])
        XCTAssertEqual(result.status, 0, result.errors)
        let records = try result.output.split(separator: "\n").map { try EventJSON.decode(String($0)) }
        XCTAssertEqual(records.map(\.verdict), [.closed], result.output)
        XCTAssertEqual(records.first?.timeNanos, 0, "clamped to the epoch")
    }

    /// `nmap -f` in a file: three SYNs in 8-byte fragments, one out of order, each refused.
    func testFragmentedSynsInAFileAreSeen() throws {
        var writer = PcapWriter()
        let syn = { (port: UInt16) in PacketBuilder.tcp(40000, port, flags: 0x02, options: PacketBuilder.linuxSYNOptionBytes) }
        for port in UInt16(21)...23 {
            var pieces = PacketBuilder.fragmented(syn(port), pieceBytes: 8, source: scanner, destination: host, identification: UInt32(port))
            if port == 22 { pieces.reverse() }
            for (index, piece) in pieces.enumerated() { writer.add(piece, timeNanos: start + UInt64(port) * second + UInt64(index) * 1000) }
            writer.add(tcp(host, port, scanner, 40000, flags: 0x14), timeNanos: start + UInt64(port) * second + 50_000)
        }
        let file = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("fragments-\(UUID().uuidString).pcap")
        try writer.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let json = try runReplay([file.path, "--json", "--local", "192.0.2.0/24"])
        let records = try json.output.split(separator: "\n").map { try EventJSON.decode(String($0)) }
        XCTAssertEqual(records.filter { $0.verdict == .closed }.compactMap(\.destinationPort), [21, 22, 23], json.output)
        XCTAssertTrue(records.allSatisfy { $0.tcpOptions == "M1460,S,T,N,W7" }, json.output)
        let summary = try runReplay([file.path])
        XCTAssertTrue(summary.output.contains("Fragmented TCP headers: 3 reassembled, 0 dropped as overlapping"), summary.output)
    }

    /// A Linux cooked capture (`tcpdump -i any`) says which way each packet went: an answer
    /// that came in is no answer, whatever address it claims. A plain Ethernet file cannot
    /// say, and its answers are judged by their addresses.
    func testACookedCaptureTellsForgedAnswersByTheirDirection() throws {
        let p = PacketBuilder.self
        func cooked(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16, flags: UInt8,
                    packetType: UInt8) -> [UInt8] {
            p.linuxCookedV2(p.etherTypeIPv4, packetType: packetType,
                            p.ipv4(source, destination, protocolNumber: 6, p.tcp(sourcePort, destinationPort, flags: flags)))
        }
        var writer = PcapWriter(linkType: 276)
        writer.add(cooked(scanner, 40000, host, 22, flags: 0x02, packetType: p.packetHost), timeNanos: start)
        writer.add(cooked(host, 22, scanner, 40000, flags: 0x14, packetType: p.packetHost), timeNanos: start + 1000)
        writer.add(cooked(scanner, 40001, host, 23, flags: 0x02, packetType: p.packetHost), timeNanos: start + 2000)
        writer.add(cooked(host, 23, scanner, 40001, flags: 0x14, packetType: p.packetOutgoing), timeNanos: start + 3000)
        let file = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cooked-\(UUID().uuidString).pcap")
        try writer.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try runReplay([file.path, "--json", "--local", "192.0.2.0/24"])
        XCTAssertEqual(result.status, 0, result.errors)
        let records = try result.output.split(separator: "\n").map { try EventJSON.decode(String($0)) }
        let verdicts = Dictionary(uniqueKeysWithValues: records.map { ($0.destinationPort ?? 0, $0.verdict) })
        XCTAssertEqual(verdicts, [22: .unanswered, 23: .closed], result.output)
    }

    func testAMissingFileIsAClearError() throws {
        let result = try runReplay(["/nonexistent/capture.pcap"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.errors.contains("Cannot read capture file /nonexistent/capture.pcap"), result.errors)
    }

    func testABadLocalPrefixIsRejected() throws {
        let result = try runReplay(["x.pcap", "--local", "192.0.2.0/40"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.errors.contains("'192.0.2.0/40' is not an address prefix"), result.errors)
    }
}
