import LightScopeCore
import LightScopeTestSupport
import XCTest

final class ICMPDecodeTests: XCTestCase {
    /// The UDP probe we sent, as the router quotes it: our header and the first 8 bytes of UDP.
    private let quotedUDPv4 = PacketBuilder.ipv4("192.0.2.1", "198.51.100.7", ttl: 3, protocolNumber: 17,
                                                 PacketBuilder.udp(33434, 161, payload: Array(repeating: 0xAB, count: 32)))

    private func icmpPacket(_ icmp: [UInt8]) -> [UInt8] {
        PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                               PacketBuilder.ipv4("198.51.100.7", "192.0.2.1", ttl: 250, protocolNumber: 1, icmp))
    }

    private func icmpv6Packet(_ icmp: [UInt8]) -> [UInt8] {
        PacketBuilder.ethernet(PacketBuilder.etherTypeIPv6,
                               PacketBuilder.ipv6("2001:db8::7", "2001:db8::1", hopLimit: 64, nextHeader: 58, icmp))
    }

    func testPortUnreachableQuotesTheProbe() {
        let quote = Array(quotedUDPv4.prefix(28)) // RFC 792 minimum: IP header + 8 bytes
        let message = decoded(icmpPacket(PacketBuilder.icmpUnreachable(code: 3, quoting: quote)))?.unreachable
        XCTAssertEqual(message?.isIPv6, false)
        XCTAssertEqual(message?.code, 3)
        XCTAssertEqual(message?.isPortUnreachable, true)
        XCTAssertEqual(message?.quoted, QuotedProbe(source: IPAddress("192.0.2.1")!, destination: IPAddress("198.51.100.7")!,
                                                    protocolNumber: 17, sourcePort: 33434, destinationPort: 161, ttl: 3))
    }

    func testOtherCodesAreNotPortUnreachable() {
        let message = decoded(icmpPacket(PacketBuilder.icmpUnreachable(code: 1, quoting: quotedUDPv4)))?.unreachable
        XCTAssertEqual(message?.isPortUnreachable, false)
        XCTAssertEqual(message?.quoted?.destinationPort, 161)
    }

    func testQuotedHeaderWithOptionsAndTCP() {
        let quote = PacketBuilder.ipv4("192.0.2.1", "198.51.100.7", ttl: 1, protocolNumber: 6, options: [1, 1, 1, 0],
                                       PacketBuilder.tcp(40001, 8080))
        let quoted = decoded(icmpPacket(PacketBuilder.icmpUnreachable(code: 13, quoting: Array(quote.prefix(32)))))?.unreachable?.quoted
        XCTAssertEqual(quoted?.protocolNumber, 6)
        XCTAssertEqual(quoted?.sourcePort, 40001)
        XCTAssertEqual(quoted?.destinationPort, 8080)
        XCTAssertEqual(quoted?.ttl, 1)
    }

    func testQuoteWithoutPortsStillNamesTheHosts() {
        let quoted = decoded(icmpPacket(PacketBuilder.icmpUnreachable(code: 3, quoting: Array(quotedUDPv4.prefix(22)))))?
            .unreachable?.quoted
        XCTAssertEqual(quoted?.destination, IPAddress("198.51.100.7"))
        XCTAssertNil(quoted?.sourcePort)
        XCTAssertNil(quoted?.destinationPort)
    }

    func testQuotedLaterFragmentHasNoPorts() {
        let fragment = PacketBuilder.ipv4("192.0.2.1", "198.51.100.7", protocolNumber: 17, flagsAndOffset: 0x0010,
                                          PacketBuilder.udp(1, 2))
        let quoted = decoded(icmpPacket(PacketBuilder.icmpUnreachable(code: 3, quoting: fragment)))?.unreachable?.quoted
        XCTAssertEqual(quoted?.protocolNumber, 17)
        XCTAssertNil(quoted?.sourcePort)
    }

    func testQuotedProtocolWithoutPorts() {
        let gre = PacketBuilder.ipv4("192.0.2.1", "198.51.100.7", protocolNumber: 47, [0, 0, 8, 0, 1, 2, 3, 4])
        let quoted = decoded(icmpPacket(PacketBuilder.icmpUnreachable(code: 2, quoting: gre)))?.unreachable?.quoted
        XCTAssertEqual(quoted?.protocolNumber, 47)
        XCTAssertNil(quoted?.destinationPort)
    }

    func testGarbageQuoteKeepsTheMessage() {
        let quotes: [[UInt8]] = [
            [],                                          // nothing quoted
            [0x45, 0, 0],                                // cut inside the header
            [0x60] + Array(repeating: 0, count: 40),     // IPv6 quoted in ICMPv4
            [0x43] + Array(repeating: 0, count: 27),     // IHL 3
        ]
        for quote in quotes {
            let message = decoded(icmpPacket(PacketBuilder.icmpUnreachable(code: 3, quoting: quote)))?.unreachable
            XCTAssertEqual(message?.code, 3)
            XCTAssertNil(message?.quoted)
        }
    }

    func testOtherICMPTypes() {
        XCTAssertEqual(decoded(icmpPacket(PacketBuilder.icmp(type: 8, code: 0)))?.transport,
                       .icmp(ICMPMessage(isIPv6: false, type: 8, code: 0)))
        XCTAssertEqual(decoded(icmpv6Packet(PacketBuilder.icmp(type: 135, code: 0, Array(repeating: 0, count: 16))))?.transport,
                       .icmp(ICMPMessage(isIPv6: true, type: 135, code: 0)))
        // Type 3 means "unreachable" only in ICMPv4; in ICMPv6 it is time exceeded.
        XCTAssertEqual(decoded(icmpv6Packet(PacketBuilder.icmp(type: 3, code: 0)))?.transport,
                       .icmp(ICMPMessage(isIPv6: true, type: 3, code: 0)))
    }

    /// Time exceeded quotes the packet that ran out of hops, as destination unreachable does:
    /// backscatter when the host never sent it.
    func testTimeExceededQuotesThePacket() {
        let quote = Array(quotedUDPv4.prefix(28))
        let expected = QuotedProbe(source: IPAddress("192.0.2.1")!, destination: IPAddress("198.51.100.7")!,
                                   protocolNumber: 17, sourcePort: 33434, destinationPort: 161, ttl: 3)
        XCTAssertEqual(decoded(icmpPacket(PacketBuilder.icmp(type: 11, code: 0, quote)))?.transport,
                       .icmp(ICMPMessage(isIPv6: false, type: 11, code: 0, quoted: expected)))
        let quote6 = PacketBuilder.ipv6("2001:db8::1", "2001:db8::7", hopLimit: 1, nextHeader: 17, PacketBuilder.udp(33434, 161))
        guard case .icmp(let message6)? = decoded(icmpv6Packet(PacketBuilder.icmp(type: 3, code: 0, quote6)))?.transport
        else { return XCTFail("an ICMPv6 time exceeded") }
        XCTAssertTrue(message6.isTimeExceeded)
        XCTAssertEqual(message6.quoted?.destination, IPAddress("2001:db8::7"))
        XCTAssertEqual(message6.quoted?.sourcePort, 33434)
    }

    func testTruncatedICMPHeader() {
        XCTAssertEqual(rejection(icmpPacket([3, 3, 0, 0, 0, 0, 0])), .truncatedICMPHeader)
    }

    func testICMPv6PortUnreachableWalksTheQuotedChain() {
        let probe = PacketBuilder.ipv6("2001:db8::1", "2001:db8::7", hopLimit: 2, nextHeader: 60,
                                       PacketBuilder.optionsHeader(next: 44)
                                       + PacketBuilder.fragmentHeader(next: 17, offset: 0, more: true)
                                       + PacketBuilder.udp(50000, 5353))
        let message = decoded(icmpv6Packet(PacketBuilder.icmpv6Unreachable(code: 4, quoting: probe)))?.unreachable
        XCTAssertEqual(message?.isIPv6, true)
        XCTAssertEqual(message?.isPortUnreachable, true)
        XCTAssertEqual(message?.quoted, QuotedProbe(source: IPAddress("2001:db8::1")!, destination: IPAddress("2001:db8::7")!,
                                                    protocolNumber: 17, sourcePort: 50000, destinationPort: 5353, ttl: 2))
    }

    func testICMPv6OtherUnreachableCodes() {
        let probe = PacketBuilder.ipv6("2001:db8::1", "2001:db8::7", nextHeader: 6, PacketBuilder.tcp(1000, 25))
        let message = decoded(icmpv6Packet(PacketBuilder.icmpv6Unreachable(code: 1, quoting: probe)))?.unreachable
        XCTAssertEqual(message?.isPortUnreachable, false)
        XCTAssertEqual(message?.quoted?.destinationPort, 25)
    }

    func testICMPv6QuoteCutInsideTheChain() {
        let probe = PacketBuilder.ipv6("2001:db8::1", "2001:db8::7", nextHeader: 0,
                                       PacketBuilder.optionsHeader(next: 17, lengthUnits: 3) + PacketBuilder.udp(1, 2))
        let quoted = decoded(icmpv6Packet(PacketBuilder.icmpv6Unreachable(code: 4, quoting: Array(probe.prefix(48)))))?
            .unreachable?.quoted
        XCTAssertEqual(quoted?.source, IPAddress("2001:db8::1"))
        XCTAssertEqual(quoted?.protocolNumber, 0, "the walk reports the header it could not step over")
        XCTAssertNil(quoted?.sourcePort)
    }

    func testICMPv6QuotedLaterFragmentHasNoPorts() {
        let probe = PacketBuilder.ipv6("2001:db8::1", "2001:db8::7", nextHeader: 44,
                                       PacketBuilder.fragmentHeader(next: 17, offset: 3, more: false) + PacketBuilder.udp(1, 2))
        let quoted = decoded(icmpv6Packet(PacketBuilder.icmpv6Unreachable(code: 4, quoting: probe)))?.unreachable?.quoted
        XCTAssertEqual(quoted?.protocolNumber, 17)
        XCTAssertNil(quoted?.sourcePort)
    }

    /// A forged ICMPv6 error quoting an IPv6 header with IPv4-mapped addresses must not name
    /// an IPv4 probe: the quote is refused as the outer header would be.
    func testQuotedIPv4MappedHeaderNamesNoProbe() {
        let quote = PacketBuilder.ipv6("::ffff:192.0.2.1", "::ffff:198.51.100.7", nextHeader: 17, PacketBuilder.udp(33434, 161))
        let message = decoded(icmpv6Packet(PacketBuilder.icmpv6Unreachable(code: 4, quoting: quote)))?.unreachable
        XCTAssertEqual(message?.isIPv6, true)
        XCTAssertNil(message?.quoted)
    }
}
