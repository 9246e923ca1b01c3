@_spi(Replay) import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `PacketTriage` may only wave through what detection would pass over anyway: whenever it
/// answers true, the decoder must succeed with a TCP segment with ACK and without SYN and RST.
final class PacketTriageTests: XCTestCase {
    private let p = PacketBuilder.self
    private let ack: UInt8 = 0x10
    private let pshAck: UInt8 = 0x18

    private func triage(_ bytes: [UInt8], linkType: Int32 = LinkType.ethernet) -> Bool {
        bytes.withUnsafeBytes { PacketTriage(linkType: linkType).isEstablishedTCP($0) }
    }

    private var establishedIPv4: [UInt8] {
        p.ethernet(p.etherTypeIPv4, p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6,
                                            p.tcp(51000, 443, flags: pshAck, payload: [1, 2, 3])))
    }

    private var establishedIPv6: [UInt8] {
        p.ethernet(p.etherTypeIPv6, p.ipv6("2001:db8::9", "2001:db8::1", nextHeader: 6, p.tcp(51000, 443, flags: ack)))
    }

    func testEstablishedSegmentsAreWavedThrough() {
        XCTAssertTrue(triage(establishedIPv4))
        XCTAssertTrue(triage(establishedIPv6))
        XCTAssertTrue(triage(p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, options: [1, 1, 1, 0],
                                    p.tcp(1, 2, flags: ack, options: [1, 1, 1, 1])), linkType: LinkType.raw))
        XCTAssertTrue(triage(p.ipv6("2001:db8::9", "2001:db8::1", nextHeader: 6, p.tcp(1, 2, flags: 0x11)),
                             linkType: LinkType.ipv6), "FIN-ACK")
    }

    func testWhatDetectionReadsOrTheTriageCannotVouchForIsDecoded() {
        let ipv4 = { (flags: UInt8) in
            self.p.ethernet(self.p.etherTypeIPv4, self.p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6,
                                                              self.p.tcp(51000, 22, flags: flags)))
        }
        XCTAssertFalse(triage(ipv4(0x02)), "SYN")
        XCTAssertFalse(triage(ipv4(0x12)), "SYN-ACK")
        XCTAssertFalse(triage(ipv4(0x14)), "RST-ACK")
        XCTAssertFalse(triage(ipv4(0x04)), "RST")
        XCTAssertFalse(triage(ipv4(0x01)), "FIN probe")
        XCTAssertFalse(triage(ipv4(0x00)), "NULL probe")
        XCTAssertFalse(triage(ipv4(0x29)), "Xmas probe")
        XCTAssertFalse(triage(p.ethernet(p.etherTypeIPv4, tags: [(0x8100, 7)],
                                         p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, p.tcp(1, 2, flags: ack)))),
                       "VLAN-tagged: left to the decoder")
        XCTAssertFalse(triage(p.ethernet(p.etherTypeIPv4, p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6,
                                                                 flagsAndOffset: 0x2000, p.tcp(1, 2, flags: ack)))),
                       "a first fragment")
        XCTAssertFalse(triage(p.ethernet(p.etherTypeIPv4, p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 17,
                                                                 p.udp(1, 2, payload: Array(repeating: 0, count: 20))))),
                       "UDP")
        XCTAssertFalse(triage(p.ethernet(p.etherTypeIPv6, p.ipv6("2001:db8::9", "2001:db8::1", nextHeader: 60,
                                                                 p.optionsHeader(next: 6) + p.tcp(1, 2, flags: ack)))),
                       "IPv6 extension headers")
        for (source, destination) in [("::ffff:203.0.113.9", "2001:db8::1"), ("2001:db8::9", "::ffff:192.0.2.1")] {
            XCTAssertFalse(triage(p.ethernet(p.etherTypeIPv6, p.ipv6(source, destination, nextHeader: 6, p.tcp(1, 2, flags: ack)))),
                           "IPv4-mapped \(source) -> \(destination): the decoder rejects it")
        }
        XCTAssertFalse(triage(establishedIPv4.dropLast(4).map { $0 }), "TCP header cut short")
        XCTAssertFalse(triage(establishedIPv6, linkType: LinkType.ipv4), "the link type says IPv4, the header IPv6")
        XCTAssertFalse(triage(p.linuxCooked(p.etherTypeIPv4, p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6,
                                                                    p.tcp(1, 2, flags: ack))),
                              linkType: LinkType.linuxCooked), "link types it does not know")
    }

    /// Random and mutated frames: every one waved through decodes as TCP with ACK, without SYN or RST.
    func testEveryFrameWavedThroughDecodesAsTCPWithoutSYNOrRST() {
        var random = SplitMix64(seed: 0x7121_A6E)
        let linkTypes: [Int32] = [LinkType.ethernet, LinkType.raw, LinkType.rawFile, LinkType.ipv4, LinkType.ipv6,
                                  LinkType.linuxCooked, LinkType.null]
        let samples: [([UInt8], Int32)] = [
            (establishedIPv4, LinkType.ethernet), (establishedIPv6, LinkType.ethernet),
            (p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, options: [1, 1, 1, 0],
                    p.tcp(1, 2, flags: ack, options: [2, 4, 5, 0xB4])), LinkType.raw),
            (p.ipv6("2001:db8::9", "2001:db8::1", nextHeader: 6, p.tcp(1, 2, flags: pshAck)), LinkType.ipv6),
        ]
        var wavedThrough = 0
        for round in 0..<200_000 {
            var bytes: [UInt8]
            let linkType: Int32
            if round % 2 == 0 {
                let sample = samples[random.next(below: samples.count)]
                bytes = sample.0
                linkType = random.next(below: 8) == 0 ? linkTypes[random.next(below: linkTypes.count)] : sample.1
                for _ in 0...random.next(below: 3) {
                    bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                }
                bytes.removeLast(random.next(below: bytes.count / 3))
            } else {
                bytes = (0..<random.next(below: 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                linkType = linkTypes[random.next(below: linkTypes.count)]
                // Steer some noise past the link layer towards TCP.
                if linkType == LinkType.ethernet, bytes.count > 24 { bytes[12] = 0x08; bytes[13] = 0; bytes[14] = 0x45; bytes[23] = 6 }
            }
            guard triage(bytes, linkType: linkType) else { continue }
            wavedThrough += 1
            switch decode(bytes, linkType: linkType) {
            case .success(let packet):
                guard case .tcp(let segment) = packet.transport else {
                    return XCTFail("round \(round): waved through, decoded as \(packet.transport): \(bytes)")
                }
                XCTAssertFalse(segment.flags.contains(.syn) || segment.flags.contains(.rst) || !segment.flags.contains(.ack),
                               "round \(round): \(bytes)")
            case .failure(let reason):
                return XCTFail("round \(round): waved through, but the decoder rejects it (\(reason)): \(bytes)")
            }
        }
        XCTAssertGreaterThan(wavedThrough, 5_000, "the property was exercised")
    }
}
