import LightScopeCore
import LightScopeTestSupport
import XCTest

final class IPv4DecodeTests: XCTestCase {
    private let syn = PacketBuilder.tcp(51000, 22, flags: 0x02)

    func testOptionsAreSkippedByHeaderLength() {
        // Record route (7) and a NOP/EOL tail: 12 bytes of options, IHL 8.
        let options: [UInt8] = [7, 7, 4, 0, 0, 0, 0, 1, 1, 0, 0, 0]
        let packet = decoded(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
            PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", ttl: 128, protocolNumber: 6, options: options, syn)))
        XCTAssertEqual(packet?.source, IPAddress("203.0.113.9"))
        XCTAssertEqual(packet?.destination, IPAddress("192.0.2.1"))
        XCTAssertEqual(packet?.ttl, 128)
        XCTAssertEqual(packet?.tcp?.sourcePort, 51000)
        XCTAssertEqual(packet?.tcp?.destinationPort, 22)
        XCTAssertEqual(packet?.fragment, .unfragmented)
    }

    func testMaximumOptions() {
        let options = [UInt8](repeating: 1, count: 40) // IHL 15
        let packet = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, options: options, syn),
                             linkType: LinkType.raw)
        XCTAssertEqual(packet?.tcp?.destinationPort, 22)
    }

    func testHeaderLengthBelowFiveWordsIsRejected() {
        let packet = PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, headerWords: 4, syn)
        XCTAssertEqual(rejection(packet, linkType: LinkType.raw), .badIPv4HeaderLength)
    }

    func testHeaderLengthPastTheCaptureIsTruncation() {
        let packet = PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, headerWords: 15, [1, 1, 1, 1])
        XCTAssertEqual(rejection(packet, linkType: LinkType.raw), .truncatedIPv4Header)
    }

    func testTotalLengthShorterThanHeaderIsRejected() {
        let packet = PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, totalLength: 19, syn)
        XCTAssertEqual(rejection(packet, linkType: LinkType.raw), .badIPv4TotalLength)
    }

    func testTotalLengthBoundsThePayload() {
        // The header claims 10 bytes of payload although a whole TCP header follows.
        let packet = PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, totalLength: 30, syn)
        XCTAssertEqual(rejection(packet, linkType: LinkType.raw), .truncatedTCPHeader)
    }

    func testZeroTotalLengthTrustsTheCapture() {
        let packet = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, totalLength: 0, syn),
                             linkType: LinkType.raw)
        XCTAssertEqual(packet?.tcp?.destinationPort, 22)
    }

    func testFirstFragmentCarriesTheTransportHeader() {
        let packet = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, flagsAndOffset: 0x2000, syn),
                             linkType: LinkType.raw)
        XCTAssertEqual(packet?.fragment, .first)
        XCTAssertEqual(packet?.tcp?.destinationPort, 22)
    }

    func testLaterFragmentsAreNetworkOnly() {
        for flagsAndOffset: UInt16 in [0x2001, 0x0001, 0x1FFF, 0x3FFF] {
            let packet = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", ttl: 9, protocolNumber: 6,
                                                    flagsAndOffset: flagsAndOffset, syn), linkType: LinkType.raw)
            XCTAssertEqual(packet?.fragment, .subsequent)
            XCTAssertEqual(packet?.transport, .other(protocolNumber: 6))
            XCTAssertEqual(packet?.ttl, 9)
            XCTAssertEqual(packet?.source, IPAddress("203.0.113.9"))
        }
    }

    func testTinyFirstFragmentDecodesAsNetworkOnly() {
        // 8 bytes of TCP in a first fragment: ports but no flags. Not a rejection, not a TCP segment.
        let packet = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, flagsAndOffset: 0x2000,
                                                Array(syn.prefix(8))), linkType: LinkType.raw)
        XCTAssertEqual(packet?.fragment, .first)
        XCTAssertEqual(packet?.transport, .other(protocolNumber: 6))
    }

    func testUnfragmentedShortTransportIsRejected() {
        let packet = PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, Array(syn.prefix(8)))
        XCTAssertEqual(rejection(packet, linkType: LinkType.raw), .truncatedTCPHeader)
    }

    func testOtherProtocolsAreNetworkOnly() {
        let gre = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 47, [0, 0, 8, 0]), linkType: LinkType.raw)
        XCTAssertEqual(gre?.transport, .other(protocolNumber: 47))
    }
}
