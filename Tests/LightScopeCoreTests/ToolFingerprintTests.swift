import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Each rule of `ToolRules` on probes built as the tool's source builds them, and each of its
/// marks shown necessary: the probe with that one field changed is `unknown`. The real tools
/// are run in `ScanToolLiveTests`.
final class ToolFingerprintTests: XCTestCase {
    private let scanner = "203.0.113.9"
    private let host = "192.0.2.1"
    private let fingerprint = ToolFingerprint()

    private func tool(_ packet: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> ScanTool? {
        guard let decoded = decoded(packet, linkType: LinkType.raw, file: file, line: line),
              let segment = decoded.tcp else { return nil }
        return fingerprint.tool(of: decoded, segment)
    }

    /// The packet with `value` written at `offset` (IPv4 header of 20 bytes, then TCP), and
    /// the checksums left as they were: the decoder does not read them.
    private func changed(_ packet: [UInt8], at offset: Int, to value: [UInt8]) -> [UInt8] {
        var copy = packet
        copy.replaceSubrange(offset..<offset + value.count, with: value)
        return copy
    }

    private let dontFragment = (offset: 6, value: [UInt8(0x40), 0])
    private func identification(_ value: UInt16) -> (Int, [UInt8]) { (4, PacketBuilder.be16(value)) }
    private func sequence(_ value: UInt32) -> (Int, [UInt8]) { (24, PacketBuilder.be32(value)) }
    private func window(_ value: UInt16) -> (Int, [UInt8]) { (34, PacketBuilder.be16(value)) }

    private func assertEachChangeIsUnknown(_ probe: [UInt8], _ changes: [String: (Int, [UInt8])],
                                           file: StaticString = #filePath, line: UInt = #line) {
        for (name, change) in changes {
            XCTAssertEqual(tool(changed(probe, at: change.0, to: change.1)), .unknown, name, file: file, line: line)
        }
    }

    func testZMap() {
        let probe = ToolProbes.zmap(from: scanner, to: host)
        XCTAssertEqual(tool(probe), .zmap)
        assertEachChangeIsUnknown(probe, ["identification": identification(54320), "window": window(65534),
                                          "DF": dontFragment])
    }

    func testMasscanIdentificationFollowsTheTarget() {
        for (port, sequenceNumber): (UInt16, UInt32) in [(443, 0xAD6E_B3C5), (80, 0x584E_2BF4), (22, 0xFE18_E2D6), (0, 0)] {
            let probe = ToolProbes.masscan(from: scanner, to: host, port: port, sequence: sequenceNumber)
            XCTAssertEqual(tool(probe), .masscan, "port \(port)")
            let other = ToolProbes.masscan(from: scanner, to: "192.0.2.77", port: port, sequence: sequenceNumber)
            XCTAssertEqual(tool(changed(other, at: 16, to: PacketBuilder.address(host))), .unknown,
                           "the identification made for another target")
            assertEachChangeIsUnknown(probe, ["sequence": sequence(sequenceNumber ^ 0x0001_0001), "DF": dontFragment])
        }
    }

    func testMiraiSequenceIsTheTargetAddress() {
        let probe = ToolProbes.mirai(from: scanner, to: host)
        XCTAssertEqual(tool(probe), .mirai)
        XCTAssertEqual(tool(ToolProbes.mirai(from: scanner, to: "198.51.100.200", port: 2323, window: 0)), .mirai)
        assertEachChangeIsUnknown(probe, ["sequence + 1": sequence(0xC000_0202), "DF": dontFragment])
    }

    func testNmap() {
        let probe = ToolProbes.nmap(from: scanner, to: host)
        XCTAssertEqual(tool(probe), .nmap)
        assertEachChangeIsUnknown(probe, ["window": window(2048), "DF": dontFragment, "MSS 1440": (42, [0x05, 0xA0])])
        let withoutOptions = PacketBuilder.ipv4(scanner, host, protocolNumber: 6, flagsAndOffset: 0,
                                                PacketBuilder.tcp(56_251, 22, flags: 0x02, window: 1024))
        XCTAssertEqual(tool(withoutOptions), .unknown, "window 1024 alone is not nmap")
    }

    /// nmap's identification is random, so 1 probe in 65,536 carries the one masscan's mark
    /// derives (the lab's nmap scans met it: FanoutLiveTests named one probe `masscan`). Its
    /// window and options are still nmap's, and no masscan sends both.
    func testAnNmapProbeWhoseIdentificationMatchesMasscansFormulaIsNmap() {
        let probe = ToolProbes.nmap(from: scanner, to: host, port: 33)
        let target = PacketBuilder.address(host).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let derived = UInt16(truncatingIfNeeded: target ^ 33 ^ 0xDE91_D750)
        XCTAssertEqual(tool(changed(probe, at: 4, to: PacketBuilder.be16(derived))), .nmap)
    }

    func testNmapOverIPv6() {
        let segment = PacketBuilder.tcp(56_251, 22, flags: 0x02, window: 1024, options: [2, 4, 0x05, 0xB4])
        XCTAssertEqual(tool(PacketBuilder.ipv6("2001:db8::9", "2001:db8::1", nextHeader: 6, segment)), .nmap)
        let linux = PacketBuilder.tcp(56_251, 22, flags: 0x02, options: PacketBuilder.linuxSYNOptionBytes)
        XCTAssertEqual(tool(PacketBuilder.ipv6("2001:db8::9", "2001:db8::1", nextHeader: 6, linux)), .unknown)
    }

    func testHping3() {
        let probe = ToolProbes.hping3(from: scanner, to: host)
        XCTAssertEqual(tool(probe), .hping3)
        assertEachChangeIsUnknown(probe, ["window": window(1024), "DF": dontFragment, "acknowledgement 0": (28, [0, 0, 0, 0])])
    }

    func testAnOrdinaryClientIsUnknownWithOrWithoutDF() {
        let client = ToolProbes.linuxClient(from: scanner, to: host)
        XCTAssertEqual(tool(client), .unknown)
        XCTAssertEqual(tool(changed(client, at: 6, to: [0, 0])), .unknown)
    }

    /// The rules describe SYN probes: the same marks on anything else name no tool.
    func testOnlyConnectionAttemptsAreNamed() {
        let synAck = changed(ToolProbes.zmap(from: scanner, to: host), at: 33, to: [0x12])
        XCTAssertEqual(tool(synAck), .unknown)
        let rst = changed(ToolProbes.masscan(from: scanner, to: host), at: 33, to: [0x04])
        XCTAssertEqual(tool(rst), .unknown)
    }

    func testNamesRoundTripAndUnknownIsZero() {
        XCTAssertEqual(ScanTool.unknown.rawValue, 0, "a zeroed pending-probe record means unknown")
        for tool in ScanTool.allCases {
            XCTAssertEqual(ScanTool(name: tool.name), tool)
        }
        XCTAssertEqual(ScanTool.allCases.map(\.name), ["unknown", "zmap", "masscan", "mirai", "nmap", "hping3"])
        XCTAssertNil(ScanTool(name: "Nmap"))
    }
}

extension ToolFingerprintTests {
    /// The shortcut for SYNs with DF set holds only while every rule wants DF clear: a rule
    /// table with one that does not still matches such a SYN.
    func testARuleWithoutTheDFMarkStillSeesSYNsWithDF() throws {
        let client = try XCTUnwrap(decoded(ToolProbes.linuxClient(from: "203.0.113.9", to: "192.0.2.1"), linkType: LinkType.raw))
        let segment = try XCTUnwrap(client.tcp)
        XCTAssertEqual(ToolFingerprint().tool(of: client, segment), .unknown)
        let custom = ToolFingerprint(rules: ToolRules.standard + [ToolRule(.hping3, [.window(64240)])])
        XCTAssertEqual(custom.tool(of: client, segment), .hping3)
    }
}

extension ToolFingerprintTests {
    /// The fingerprint checks each rule's marks in its own order and form; it must name the
    /// same tool as the marks themselves, read one by one, on every combination of the
    /// fields they look at, with the standard rules and with rules that repeat a mark or
    /// contradict themselves.
    func testTheChecksAgreeWithTheMarksOnEveryCombination() throws {
        let destination = try XCTUnwrap(IPAddress(host))
        let mss = ToolRules.optionBytes([2, 4, 0x05, 0xB4])
        let extraRules = [
            ToolRule(.hping3, [.window(512), .window(512)]),
            ToolRule(.zmap, [.window(512), .window(1024)]),
            ToolRule(.mirai, [.options(mss), .options(TCPOptions())]),
            ToolRule(.nmap, [.options(mss)]),
            ToolRule(.masscan, []),
        ]
        for rules in [ToolRules.standard, extraRules + ToolRules.standard, ToolRules.standard + extraRules] {
            let fingerprint = ToolFingerprint(rules: rules)
            for identification in [nil, 54321, 777] as [UInt16?] {
                for dontFragment in [false, true] {
                    for window in [512, 1024, 65535, 64240] as [UInt16] {
                        for options in [TCPOptions(), mss, ToolRules.optionBytes([1, 1, 1, 1])] {
                            for acknowledgement in [0, 5] as [UInt32] {
                                for sequence in [0xC000_0201, 9] as [UInt32] {
                                    for flags in [TCPFlags.syn, [.syn, .ack], .fin] {
                                        let segment = TCPSegment(sourcePort: 40000, destinationPort: 80, sequence: sequence,
                                                                 acknowledgement: acknowledgement, flags: flags, window: window,
                                                                 options: options)
                                        // Once with an identification that masscan's mark derives.
                                        for derived in [false, true] {
                                            let id = derived ? UInt16(truncatingIfNeeded: 0xC000_0201 ^ 80 ^ sequence) : identification
                                            let packet = DecodedPacket(source: try XCTUnwrap(IPAddress(scanner)),
                                                                       destination: destination, isIPv6: false, ttl: 50,
                                                                       ipv4Identification: id, ipv4DontFragment: dontFragment,
                                                                       transport: .tcp(segment))
                                            let byMarks = segment.isConnectionAttempt
                                                ? rules.first { $0.marks.allSatisfy { $0.holds(for: packet, segment) } }?.tool ?? .unknown
                                                : .unknown
                                            XCTAssertEqual(fingerprint.tool(of: packet, segment), byMarks)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
