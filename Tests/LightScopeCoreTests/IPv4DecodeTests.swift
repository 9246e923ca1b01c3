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

    /// Scanners' marks (`ToolRules`) are read from these two fields.
    func testIdentificationAndDontFragmentAreKept() {
        let withDF = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, flagsAndOffset: 0x4000,
                                                identification: 54321, syn), linkType: LinkType.raw)
        XCTAssertEqual(withDF?.ipv4Identification, 54321)
        XCTAssertEqual(withDF?.ipv4DontFragment, true)
        let withoutDF = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, flagsAndOffset: 0,
                                                   identification: 0, syn), linkType: LinkType.raw)
        XCTAssertEqual(withoutDF?.ipv4Identification, 0)
        XCTAssertEqual(withoutDF?.ipv4DontFragment, false)
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

    func testLaterFragmentsPastTheLargestTCPHeaderAreNetworkOnly() {
        // Offsets in 8-byte units: 8 is byte 64, past the 60 bytes a TCP header may take.
        for flagsAndOffset: UInt16 in [0x2008, 0x0008, 0x1FFF, 0x3FFF] {
            let packet = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", ttl: 9, protocolNumber: 6,
                                                    flagsAndOffset: flagsAndOffset, syn), linkType: LinkType.raw)
            XCTAssertEqual(packet?.fragment, .subsequent)
            XCTAssertEqual(packet?.transport, .other(protocolNumber: 6))
            XCTAssertEqual(packet?.ttl, 9)
            XCTAssertEqual(packet?.source, IPAddress("203.0.113.9"))
        }
    }

    func testTinyFirstFragmentIsAPieceOfTheTCPHeader() {
        // 8 bytes of TCP in a first fragment (`nmap -f`): ports but no flags. Not a rejection,
        // not a TCP segment: a piece for the reassembler, with where its bytes lie.
        let packet = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, flagsAndOffset: 0x2000,
                                                Array(syn.prefix(8))), linkType: LinkType.raw)
        XCTAssertEqual(packet?.fragment, .first)
        XCTAssertEqual(packet?.transport, .tcpFragment(TCPFragment(identification: 0x1234, offset: 0, length: 8, moreFragments: true,
                                                                  capturedStart: 20, capturedLength: 8)))
    }

    func testLaterFragmentsWithinTheLargestTCPHeaderArePiecesOfIt() {
        // Offset 1 (byte 8, where `nmap -f` puts the flags) and 7 (byte 56, the last piece a
        // 60-byte header can have); with and without more fragments to follow.
        let cases: [(flagsAndOffset: UInt16, offset: UInt16, more: Bool)] = [(0x2001, 8, true), (0x0001, 8, false), (0x0007, 56, false)]
        for (flagsAndOffset, offset, more) in cases {
            let packet = decoded(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", ttl: 9, protocolNumber: 6, flagsAndOffset: flagsAndOffset,
                                   Array(syn[8..<20]))))
            XCTAssertEqual(packet?.fragment, .subsequent)
            XCTAssertEqual(packet?.transport, .tcpFragment(TCPFragment(identification: 0x1234, offset: offset, length: 12,
                                                                      moreFragments: more, capturedStart: 34, capturedLength: 12)))
        }
    }

    func testAFragmentCutByTheSnapshotLengthSaysSo() {
        let fragment = PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, flagsAndOffset: 0x2000, Array(syn.prefix(16)))
        let piece = decoded(Array(fragment.prefix(30)), linkType: LinkType.raw)?.transport
        XCTAssertEqual(piece, .tcpFragment(TCPFragment(identification: 0x1234, offset: 0, length: 16, moreFragments: true,
                                                      capturedStart: 20, capturedLength: 10)))
    }

    func testOtherProtocolsFragmentsAreNetworkOnly() {
        let udp = PacketBuilder.udp(5353, 53, payload: [1, 2, 3, 4, 5, 6, 7, 8])
        let later = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 17, flagsAndOffset: 0x2001, udp),
                            linkType: LinkType.raw)
        XCTAssertEqual(later?.transport, .other(protocolNumber: 17))
        let tinyFirst = decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 17, flagsAndOffset: 0x2000,
                                                   Array(udp.prefix(4))), linkType: LinkType.raw)
        XCTAssertEqual(tinyFirst?.transport, .other(protocolNumber: 17))
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
