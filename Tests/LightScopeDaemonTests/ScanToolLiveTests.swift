import Foundation
import LightScopeCapture
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Each rule of `ToolRules` proven with the real tool (issue 23, part 1): the tool scans the
/// host of a namespace lab, the real tcpdump captures what reaches the host's interface,
/// and LightScope's own reader and decoder turn each SYN into the packet the detector sees.
/// Mirai, which no distribution packages, is crafted (`ToolProbes.mirai`). Ordinary clients
/// (curl, nc, connect(2)) over IPv4 and IPv6 must get no tag at all.
final class ScanToolLiveTests: XCTestCase {
    /// The tool each captured SYN was tagged with, in capture order.
    private func tags(in capture: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [ScanTool] {
        defer { try? FileManager.default.removeItem(at: capture) }
        let reader = try PcapFileReader(path: capture.path)
        let fingerprint = ToolFingerprint()
        var tags: [ScanTool] = []
        var rejected: [String] = []
        let damage = reader.forEachPacket { bytes, _, _ in
            do throws(DecodeRejection) {
                let packet = try PacketDecoder.decode(bytes, linkType: reader.linkType)
                guard case .tcp(let segment) = packet.transport else { return rejected.append("not TCP: \(packet)") }
                tags.append(fingerprint.tool(of: packet, segment))
            } catch {
                rejected.append(error.name)
            }
        }
        XCTAssertNil(damage, file: file, line: line)
        XCTAssertEqual(rejected, [], "captured packets the decoder refused", file: file, line: line)
        return tags
    }

    private func assertTagged(_ tags: [ScanTool], _ tool: ScanTool, count: Int, _ output: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(tags.count, count, "probes captured: \(tags)\n\(output)", file: file, line: line)
        XCTAssertEqual(tags.filter { $0 != tool }, [], "probes not tagged \(tool.name)\n\(output)", file: file, line: line)
    }

    func testZMapProbesAreTaggedZMap() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        var output = ""
        let capture = try lab.captureConnectionAttempts(maximumPackets: 3, timeoutSeconds: 30) {
            output = try ScanToolRuns.zmap(lab, port: 80, probes: 3)
        }
        assertTagged(try tags(in: capture), .zmap, count: 3, output)
    }

    func testMasscanProbesAreTaggedMasscan() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        var output = ""
        let capture = try lab.captureConnectionAttempts(maximumPackets: 3, timeoutSeconds: 30) {
            output = try ScanToolRuns.masscan(lab, ports: "22,80,443")
        }
        assertTagged(try tags(in: capture), .masscan, count: 3, output)
    }

    func testNmapSynScanProbesAreTaggedNmapOverIPv4AndIPv6() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        var output = ""
        let capture = try lab.captureConnectionAttempts(maximumPackets: 5, timeoutSeconds: 60) {
            output = try ScanToolRuns.nmap(lab, family: "-4", ports: "22,80,443") + ScanToolRuns.nmap(lab, family: "-6", ports: "22,80")
        }
        assertTagged(try tags(in: capture), .nmap, count: 5, output)
    }

    func testHping3ProbesAreTaggedHping3() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        var output = ""
        let capture = try lab.captureConnectionAttempts(maximumPackets: 3, timeoutSeconds: 30) {
            output = try ScanToolRuns.hping3(lab, port: 80, count: 3)
        }
        assertTagged(try tags(in: capture), .hping3, count: 3, output)
    }

    func testCraftedMiraiProbesAreTaggedMirai() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let capture = try lab.captureConnectionAttempts(maximumPackets: 3, timeoutSeconds: 20) {
            try ScanToolRuns.mirai(lab, ports: [23, 2323, 23])
        }
        assertTagged(try tags(in: capture), .mirai, count: 3, "")
    }

    /// The false-tag check on real client SYNs: curl, nc and plain connect(2), over both
    /// families, to closed ports (one SYN each, answered by RST). None may be tagged.
    func testOrdinaryClientSYNsAreNotTagged() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let ports = Array(81...86)
        let capture = try lab.captureConnectionAttempts(maximumPackets: 6 * ports.count, timeoutSeconds: 60) {
            for port in ports {
                try lab.run(in: lab.peer, ["curl", "-s", "-m", "2", "http://\(lab.hostIPv4):\(port)/"], allowFailure: true)
                try lab.run(in: lab.peer, ["curl", "-s", "-m", "2", "http://[\(lab.hostIPv6)]:\(port)/"], allowFailure: true)
                try lab.run(in: lab.peer, ["nc", "-z", "-w", "2", lab.hostIPv4, String(port)], allowFailure: true)
                try lab.run(in: lab.peer, ["nc", "-z", "-w", "2", lab.hostIPv6, String(port)], allowFailure: true)
            }
            try lab.probeHostTCP(ports: ports)
            try lab.probeHostTCP(ports: ports, address: lab.hostIPv6)
        }
        let tags = try tags(in: capture)
        XCTAssertEqual(tags.count, 6 * ports.count, "client SYNs captured")
        XCTAssertEqual(tags.filter { $0 != .unknown }, [], "ordinary SYNs tagged")
    }
}
