import LightScopeCore
import LightScopeTestSupport
import XCTest

final class LinkLayerDecodeTests: XCTestCase {
    private let udpPacket = PacketBuilder.ipv4("198.51.100.7", "192.0.2.10", ttl: 51, protocolNumber: 17,
                                               PacketBuilder.udp(40000, 53))
    private let ipv6Packet = PacketBuilder.ipv6("2001:db8::7", "2001:db8::10", hopLimit: 60, nextHeader: 17,
                                                PacketBuilder.udp(40000, 53))

    private func assertUDP(_ packet: DecodedPacket?, source: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(packet?.source, IPAddress(source), file: file, line: line)
        XCTAssertEqual(packet?.udp, UDPDatagram(sourcePort: 40000, destinationPort: 53, length: 8), file: file, line: line)
    }

    func testEthernetUntagged() {
        let packet = decoded(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, udpPacket))
        assertUDP(packet, source: "198.51.100.7")
        XCTAssertEqual(packet?.ttl, 51)
        XCTAssertEqual(packet?.isIPv6, false)
        XCTAssertNil(packet?.outerVLAN)
        XCTAssertNil(packet?.innerVLAN)
    }

    func testEthernetIPv6() {
        let packet = decoded(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv6, ipv6Packet))
        assertUDP(packet, source: "2001:db8::7")
        XCTAssertEqual(packet?.ttl, 60)
        XCTAssertEqual(packet?.isIPv6, true)
    }

    func testSingleVLANTag() {
        let packet = decoded(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, tags: [(0x8100, 42)], udpPacket))
        assertUDP(packet, source: "198.51.100.7")
        XCTAssertEqual(packet?.outerVLAN, 42)
        XCTAssertNil(packet?.innerVLAN)
    }

    func testQinQWith88a8Outer() {
        let packet = decoded(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv6, tags: [(0x88A8, 100), (0x8100, 4095)], ipv6Packet))
        assertUDP(packet, source: "2001:db8::7")
        XCTAssertEqual(packet?.outerVLAN, 100)
        XCTAssertEqual(packet?.innerVLAN, 4095)
    }

    func testStacked8100Tags() {
        let packet = decoded(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, tags: [(0x8100, 7), (0x8100, 8)], udpPacket))
        XCTAssertEqual(packet?.outerVLAN, 7)
        XCTAssertEqual(packet?.innerVLAN, 8)
    }

    func testThreeTagsAreRejected() {
        let frame = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, tags: [(0x88A8, 1), (0x8100, 2), (0x8100, 3)], udpPacket)
        XCTAssertEqual(rejection(frame), .tooManyVLANTags)
    }

    func testNonIPEtherTypeIsNotMalformed() {
        let arp = PacketBuilder.ethernet(0x0806, [UInt8](repeating: 0, count: 28))
        XCTAssertEqual(rejection(arp), .notIP)
        XCTAssertEqual(rejection(arp)?.isMalformed, false)
        XCTAssertEqual(rejection(PacketBuilder.ethernet(0x0806, tags: [(0x8100, 5)], [])), .notIP)
    }

    func testEtherTypeDisagreeingWithVersionIsRejected() {
        XCTAssertEqual(rejection(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, ipv6Packet)), .badIPVersion)
        XCTAssertEqual(rejection(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv6, udpPacket)), .badIPVersion)
    }

    func testEthernetPaddingIsNotReadAsPayload() {
        // A 20-byte IPv4 header with no payload at all, padded to the 60-byte Ethernet minimum:
        // the padding must not be taken for a UDP header.
        let bare = PacketBuilder.ipv4("198.51.100.7", "192.0.2.10", protocolNumber: 17, [])
        let frame = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, bare + [UInt8](repeating: 0xEE, count: 26))
        XCTAssertEqual(rejection(frame), .truncatedUDPHeader)
    }

    func testLinuxCookedV1() {
        assertUDP(decoded(PacketBuilder.linuxCooked(PacketBuilder.etherTypeIPv4, udpPacket), linkType: LinkType.linuxCooked),
                  source: "198.51.100.7")
        assertUDP(decoded(PacketBuilder.linuxCooked(PacketBuilder.etherTypeIPv6, ipv6Packet), linkType: 113),
                  source: "2001:db8::7")
    }

    func testLinuxCookedV2() {
        assertUDP(decoded(PacketBuilder.linuxCookedV2(PacketBuilder.etherTypeIPv4, udpPacket), linkType: LinkType.linuxCookedV2),
                  source: "198.51.100.7")
        assertUDP(decoded(PacketBuilder.linuxCookedV2(PacketBuilder.etherTypeIPv6, ipv6Packet), linkType: 276),
                  source: "2001:db8::7")
    }

    func testCookedCapturesSayWhichWayThePacketWent() {
        let p = PacketBuilder.self
        let cases: [(packetType: UInt8, direction: PacketDirection)] = [(0, .inbound), (1, .inbound), (2, .inbound), (3, .inbound),
                                                                         (4, .outbound), (5, .unknown), (7, .unknown)]
        for (packetType, direction) in cases {
            XCTAssertEqual(decoded(p.linuxCooked(p.etherTypeIPv4, packetType: packetType, udpPacket),
                                   linkType: LinkType.linuxCooked)?.direction, direction, "SLL packet type \(packetType)")
            XCTAssertEqual(decoded(p.linuxCookedV2(p.etherTypeIPv6, packetType: packetType, ipv6Packet),
                                   linkType: LinkType.linuxCookedV2)?.direction, direction, "SLL2 packet type \(packetType)")
        }
        XCTAssertEqual(decoded(p.ethernet(p.etherTypeIPv4, udpPacket))?.direction, .unknown, "Ethernet carries no direction")
        XCTAssertEqual(decoded(udpPacket, linkType: LinkType.raw)?.direction, .unknown)
    }

    func testCookedCapturesMayCarryAVLANTag() {
        let tagged = PacketBuilder.be16(5) + PacketBuilder.be16(PacketBuilder.etherTypeIPv4) + udpPacket
        let packet = decoded(PacketBuilder.linuxCooked(0x8100, tagged), linkType: LinkType.linuxCooked)
        XCTAssertEqual(packet?.outerVLAN, 5)
        assertUDP(packet, source: "198.51.100.7")
    }

    func testCookedNetlinkIsNotIP() {
        let frame = PacketBuilder.linuxCookedV2(PacketBuilder.etherTypeIPv4, hardwareType: 824, udpPacket)
        XCTAssertEqual(rejection(frame, linkType: LinkType.linuxCookedV2), .notIP)
    }

    func testRawIPForEveryRawLinkType() {
        for linkType in [LinkType.raw, LinkType.rawOpenBSD, LinkType.rawFile] {
            assertUDP(decoded(udpPacket, linkType: linkType), source: "198.51.100.7")
            assertUDP(decoded(ipv6Packet, linkType: linkType), source: "2001:db8::7")
        }
        assertUDP(decoded(udpPacket, linkType: LinkType.ipv4), source: "198.51.100.7")
        assertUDP(decoded(ipv6Packet, linkType: LinkType.ipv6), source: "2001:db8::7")
        XCTAssertEqual(rejection([0x50] + udpPacket.dropFirst(), linkType: LinkType.raw), .badIPVersion)
    }

    func testNullLoopbackInEitherByteOrder() {
        assertUDP(decoded(PacketBuilder.null(family: 2, udpPacket), linkType: LinkType.null), source: "198.51.100.7")
        assertUDP(decoded(PacketBuilder.null(family: 2, bigEndian: true, udpPacket), linkType: LinkType.null),
                  source: "198.51.100.7")
        for family: UInt32 in [10, 24, 28, 30] {
            assertUDP(decoded(PacketBuilder.null(family: family, ipv6Packet), linkType: LinkType.null), source: "2001:db8::7")
        }
        assertUDP(decoded(PacketBuilder.null(family: 2, bigEndian: true, udpPacket), linkType: LinkType.loop),
                  source: "198.51.100.7")
        XCTAssertEqual(rejection(PacketBuilder.null(family: 7, udpPacket), linkType: LinkType.null), .notIP)
    }

    func testUnsupportedLinkTypeAndEmptyCapture() {
        XCTAssertEqual(rejection(udpPacket, linkType: 105), .unsupportedLinkType) // 802.11
        XCTAssertEqual(rejection(udpPacket, linkType: -1), .unsupportedLinkType)
        XCTAssertEqual(rejection([], linkType: LinkType.ethernet), .empty)
        XCTAssertEqual(rejection([], linkType: LinkType.raw), .empty)
    }

    func testTruncatedLinkHeaders() {
        XCTAssertEqual(rejection(Array(repeating: 0, count: 13)), .truncatedLinkHeader)
        XCTAssertEqual(rejection(Array(repeating: 0, count: 15), linkType: LinkType.linuxCooked), .truncatedLinkHeader)
        XCTAssertEqual(rejection(Array(repeating: 0, count: 19), linkType: LinkType.linuxCookedV2), .truncatedLinkHeader)
        XCTAssertEqual(rejection([0, 0, 2], linkType: LinkType.null), .truncatedLinkHeader)
        let tagCut = Array(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, tags: [(0x8100, 9)], []).prefix(16))
        XCTAssertEqual(rejection(tagCut), .truncatedLinkHeader)
    }
}
