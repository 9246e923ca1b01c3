import LightScopeCore
import LightScopeTestSupport
import XCTest

final class IPv6DecodeTests: XCTestCase {
    private let syn = PacketBuilder.tcp(51000, 443, flags: 0x02)

    private func ipv6(nextHeader: UInt8, payloadLength: UInt16? = nil, _ payload: [UInt8]) -> [UInt8] {
        PacketBuilder.ipv6("2001:db8::1", "2001:db8:ffff::2", hopLimit: 57, nextHeader: nextHeader,
                           payloadLength: payloadLength, payload)
    }

    func testPlainTCP() {
        let packet = decoded(ipv6(nextHeader: 6, syn), linkType: LinkType.raw)
        XCTAssertEqual(packet?.source, IPAddress("2001:db8::1"))
        XCTAssertEqual(packet?.destination, IPAddress("2001:db8:ffff::2"))
        XCTAssertEqual(packet?.ttl, 57)
        XCTAssertEqual(packet?.isIPv6, true)
        XCTAssertEqual(packet?.tcp?.destinationPort, 443)
        XCTAssertNil(packet?.ipv4Identification, "IPv6's fixed header has no identification")
        XCTAssertEqual(packet?.ipv4DontFragment, false)
    }

    /// The address type holds IPv4 as ::ffff:a.b.c.d: decoded, this IPv6 packet would be
    /// taken for one from (or to) the IPv4 address. Rejected instead, as Linux drops it.
    func testIPv4MappedAddressesInAnIPv6HeaderAreRejected() {
        XCTAssertEqual(rejection(PacketBuilder.ipv6("::ffff:192.0.2.1", "2001:db8::2", nextHeader: 6, syn), linkType: LinkType.raw),
                       .ipv4MappedAddress)
        XCTAssertEqual(rejection(PacketBuilder.ipv6("2001:db8::1", "::ffff:192.0.2.2", nextHeader: 6, syn), linkType: LinkType.raw),
                       .ipv4MappedAddress)
        XCTAssertEqual(DecodeRejection.ipv4MappedAddress.name, "ipv4_mapped_address")
        // Neighbours of the range are ordinary IPv6.
        for neighbour in ["::fffe:192.0.2.1", "::1:ffff:c000:201", "::c000:201"] {
            XCTAssertEqual(decoded(PacketBuilder.ipv6(neighbour, "2001:db8::2", nextHeader: 6, syn), linkType: LinkType.raw)?.isIPv6,
                           true, neighbour)
        }
    }

    func testChainOfEveryWalkedHeader() {
        let chain = PacketBuilder.optionsHeader(next: 43, lengthUnits: 1)      // hop-by-hop, 16 bytes
            + PacketBuilder.optionsHeader(next: 51)                             // routing, 8 bytes
            + PacketBuilder.authenticationHeader(next: 60)                      // AH, 12 bytes
            + PacketBuilder.optionsHeader(next: 44, lengthUnits: 2)             // destination options, 24 bytes
            + PacketBuilder.fragmentHeader(next: 6, offset: 0, more: true)
        let packet = decoded(ipv6(nextHeader: 0, chain + syn), linkType: LinkType.raw)
        XCTAssertEqual(packet?.tcp?.sourcePort, 51000)
        XCTAssertEqual(packet?.fragment, .first)
        XCTAssertEqual(packet?.hasExtensionHeaders, true)
    }

    func testOnlyAWalkedChainCountsAsExtensionHeaders() {
        XCTAssertEqual(decoded(ipv6(nextHeader: 6, syn), linkType: LinkType.raw)?.hasExtensionHeaders, false)
        XCTAssertEqual(decoded(ipv6(nextHeader: 60, PacketBuilder.optionsHeader(next: 6) + syn), linkType: LinkType.raw)?
            .hasExtensionHeaders, true)
        XCTAssertEqual(decoded(ipv6(nextHeader: 50, [0, 0, 1, 0, 0, 0, 0, 1]), linkType: LinkType.raw)?.hasExtensionHeaders, false,
                       "ESP is opaque, not walked")
        let v4 = PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, syn)
        XCTAssertEqual(decoded(v4, linkType: LinkType.raw)?.hasExtensionHeaders, false)
    }

    func testAtomicFragmentIsUnfragmented() {
        let packet = decoded(ipv6(nextHeader: 44, PacketBuilder.fragmentHeader(next: 6, offset: 0, more: false) + syn),
                             linkType: LinkType.raw)
        XCTAssertEqual(packet?.fragment, .unfragmented)
        XCTAssertEqual(packet?.tcp?.destinationPort, 443)
    }

    func testLaterFragmentIsNetworkOnly() {
        let packet = decoded(ipv6(nextHeader: 44, PacketBuilder.fragmentHeader(next: 17, offset: 185, more: true) + syn),
                             linkType: LinkType.raw)
        XCTAssertEqual(packet?.fragment, .subsequent)
        XCTAssertEqual(packet?.transport, .other(protocolNumber: 17))
    }

    func testTinyFirstFragmentIsAPieceOfTheTCPHeader() {
        let packet = decoded(ipv6(nextHeader: 44, PacketBuilder.fragmentHeader(next: 6, offset: 0, more: true) + syn.prefix(8)),
                             linkType: LinkType.raw)
        XCTAssertEqual(packet?.transport, .tcpFragment(TCPFragment(identification: 0xCAFE, offset: 0, length: 8, moreFragments: true,
                                                                  capturedStart: 48, capturedLength: 8)))
    }

    func testLaterTCPFragmentWithinTheHeaderIsAPieceAfterAnyChain() {
        let chain = PacketBuilder.optionsHeader(next: 44) + PacketBuilder.fragmentHeader(next: 6, offset: 1, more: false)
        let packet = decoded(ipv6(nextHeader: 60, chain + Array(syn[8..<20])), linkType: LinkType.raw)
        XCTAssertEqual(packet?.fragment, .subsequent)
        XCTAssertEqual(packet?.transport, .tcpFragment(TCPFragment(identification: 0xCAFE, offset: 8, length: 12, moreFragments: false,
                                                                  capturedStart: 56, capturedLength: 12)))
    }

    func testTinyFirstFragmentOfAnotherProtocolIsNetworkOnly() {
        let packet = decoded(ipv6(nextHeader: 44, PacketBuilder.fragmentHeader(next: 17, offset: 0, more: true) + syn.prefix(4)),
                             linkType: LinkType.raw)
        XCTAssertEqual(packet?.transport, .other(protocolNumber: 17))
    }

    func testESPAndNoNextHeaderStopTheWalk() {
        XCTAssertEqual(decoded(ipv6(nextHeader: 50, [0, 0, 1, 0, 0, 0, 0, 1]), linkType: LinkType.raw)?.transport,
                       .other(protocolNumber: 50))
        let noNext = PacketBuilder.optionsHeader(next: 59)
        XCTAssertEqual(decoded(ipv6(nextHeader: 60, noNext), linkType: LinkType.raw)?.transport,
                       .other(protocolNumber: 59))
    }

    func testChainLengthIsBounded() {
        let eight = (0..<8).flatMap { _ in PacketBuilder.optionsHeader(next: 60) }
        let atLimit = (0..<7).flatMap { _ in PacketBuilder.optionsHeader(next: 60) } + PacketBuilder.optionsHeader(next: 6)
        XCTAssertEqual(decoded(ipv6(nextHeader: 60, atLimit + syn), linkType: LinkType.raw)?.tcp?.destinationPort, 443)
        XCTAssertEqual(rejection(ipv6(nextHeader: 60, eight + syn), linkType: LinkType.raw), .ipv6ExtensionChainTooLong)
    }

    func testTruncatedExtensionHeader() {
        let hopByHop = PacketBuilder.optionsHeader(next: 6, lengthUnits: 4) // 40 bytes
        XCTAssertEqual(rejection(ipv6(nextHeader: 0, Array(hopByHop.prefix(20))), linkType: LinkType.raw),
                       .truncatedIPv6ExtensionHeader)
        // Captured whole, but longer than the declared payload.
        XCTAssertEqual(rejection(ipv6(nextHeader: 0, payloadLength: 16, hopByHop + syn), linkType: LinkType.raw),
                       .truncatedIPv6ExtensionHeader)
    }

    func testPayloadLengthBoundsTheTransport() {
        XCTAssertEqual(rejection(ipv6(nextHeader: 6, payloadLength: 12, syn), linkType: LinkType.raw), .truncatedTCPHeader)
        // Zero is a jumbogram: the capture decides.
        XCTAssertEqual(decoded(ipv6(nextHeader: 6, payloadLength: 0, syn), linkType: LinkType.raw)?.tcp?.destinationPort, 443)
    }

    func testTruncatedFixedHeader() {
        XCTAssertEqual(rejection(Array(ipv6(nextHeader: 6, syn).prefix(39)), linkType: LinkType.raw), .truncatedIPv6Header)
    }
}
