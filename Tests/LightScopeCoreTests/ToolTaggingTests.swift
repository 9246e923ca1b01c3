@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Events name the tool their probe's first SYN carried the marks of, tagged where the probe
/// enters the pending table (issue 23, part 1): the probe events, and the scan events of the
/// probe that completed the scan.
final class ToolTaggingTests: EngineTestCase {
    /// The probe as the tool builds it, from `remote` to `local`, through the real decoder.
    private func probe(_ bytes: [UInt8]) throws -> DecodedPacket {
        try bytes.withUnsafeBytes { buffer in try PacketDecoder.decode(buffer, linkType: LinkType.raw) }
    }

    private func reset(for probe: DecodedPacket) throws -> DecodedPacket {
        guard case .tcp(let segment) = probe.transport else { throw TestFailure("not TCP") }
        return tcp(local, segment.destinationPort, remote, segment.sourcePort, [.rst, .ack])
    }

    func testEachToolsProbeGivesEventsNamingIt() throws {
        let engine = makeEngine()
        let probes: [(ScanTool, DecodedPacket)] = [
            (.zmap, try probe(ToolProbes.zmap(from: "\(remote)", to: "\(local)", port: 80))),
            (.masscan, try probe(ToolProbes.masscan(from: "\(remote)", to: "\(local)", port: 443))),
            (.mirai, try probe(ToolProbes.mirai(from: "\(remote)", to: "\(local)", port: 23))),
            (.nmap, try probe(ToolProbes.nmap(from: "\(remote)", to: "\(local)", port: 22))),
            (.hping3, try probe(ToolProbes.hping3(from: "\(remote)", to: "\(local)", port: 8080))),
            (.unknown, try probe(ToolProbes.linuxClient(from: "\(remote)", to: "\(local)", port: 81))),
        ]
        for (index, (_, syn)) in probes.enumerated() {
            feed(engine, syn, at: UInt64(index) * second)
            feed(engine, try reset(for: syn), at: UInt64(index) * second + 1000)
        }
        XCTAssertEqual(events.map(\.verdict), Array(repeating: .closed, count: probes.count))
        XCTAssertEqual(events.map(\.tool), probes.map(\.0))
    }

    /// A retransmission counts toward its probe and changes nothing else: the tool is the
    /// first SYN's, as the TTL and options are.
    func testTheFirstSYNNamesTheToolOfAnUnansweredProbe() throws {
        let engine = makeEngine()
        feed(engine, try probe(ToolProbes.hping3(from: "\(remote)", to: "\(local)", port: 8081)), at: 100 * second)
        feed(engine, tcp(remote, 1671, local, 8081, .syn), at: 101 * second)
        engine.advance(toNanos: 111 * second) { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.unanswered])
        XCTAssertEqual(events.first?.tool, .hping3)
        XCTAssertEqual(events.first?.packets, 2)
    }

    func testAPortScanIsNamedAfterTheProbeThatCompletedIt() throws {
        let engine = makeEngine()
        for port in UInt16(1)...15 {
            let syn = try probe(ToolProbes.nmap(from: "\(remote)", to: "\(local)", port: port))
            feed(engine, syn, at: UInt64(port) * second)
            feed(engine, try reset(for: syn), at: UInt64(port) * second + 1000)
        }
        let scan = try XCTUnwrap(events.first { $0.verdict == .portscan })
        XCTAssertEqual(scan.tool, .nmap)
        XCTAssertEqual(Set(events.map(\.tool)), [.nmap])
    }

    func testTheCountStopsAtItsLargestValueAndKeepsTheToolAndFlags() {
        var counts = PacketsToolAndFlags(tool: .mirai, flags: .syn)
        for _ in 0..<3 { counts.countPacket() }
        XCTAssertEqual(counts.packets, 3)
        XCTAssertEqual(counts.tool, .mirai)
        XCTAssertEqual(counts.flags, .syn)
        let xmas: TCPFlags = [.fin, .psh, .urg]
        var full = PacketsToolAndFlags(tool: .zmap, flags: xmas)
        withUnsafeMutableBytes(of: &full) {
            $0.storeBytes(of: UInt32(ScanTool.zmap.rawValue) << 24 | UInt32(xmas.rawValue) << 16 | (PacketsToolAndFlags.maximumPackets - 1),
                          as: UInt32.self)
        }
        full.countPacket()
        full.countPacket()
        XCTAssertEqual(full.packets, PacketsToolAndFlags.maximumPackets, "saturates, never wraps to 0")
        XCTAssertEqual(full.tool, .zmap, "and never spills into the tool")
        XCTAssertEqual(full.flags, xmas, "nor into the flags")
    }
}
