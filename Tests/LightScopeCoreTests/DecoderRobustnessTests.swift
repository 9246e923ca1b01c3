import LightScopeCore
import LightScopeTestSupport
import XCTest

/// The decoder's promise that no input can crash it, and that a truncated packet yields either
/// a truncation rejection or a partial decode that agrees with the whole packet. In debug
/// builds every raw load is itself bounds-checked, so an escaped read traps here.
final class DecoderRobustnessTests: XCTestCase {
    private struct Sample {
        var name: String
        var bytes: [UInt8]
        var linkType: Int32
    }

    private static let linuxSYNOptions: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7]

    private let samples: [Sample] = {
        let p = PacketBuilder.self
        let synV4 = p.tcp(51000, 22, options: linuxSYNOptions)
        let udpProbe = p.ipv4("192.0.2.1", "198.51.100.7", ttl: 3, protocolNumber: 17, p.udp(33434, 161, payload: [1, 2, 3, 4]))
        let udpProbeV6 = p.ipv6("2001:db8::1", "2001:db8::7", hopLimit: 2, nextHeader: 60,
                                p.optionsHeader(next: 17, lengthUnits: 1) + p.udp(50000, 5353))
        return [
            Sample(name: "QinQ IPv4 options TCP SYN",
                   bytes: p.ethernet(p.etherTypeIPv4, tags: [(0x88A8, 10), (0x8100, 20)],
                                     p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, options: [1, 1, 1, 0], synV4)),
                   linkType: LinkType.ethernet),
            Sample(name: "SLL2 IPv6 hop-by-hop, first fragment, TCP",
                   bytes: p.linuxCookedV2(p.etherTypeIPv6,
                                          p.ipv6("2001:db8::1", "2001:db8::2", nextHeader: 0,
                                                 p.optionsHeader(next: 44) + p.fragmentHeader(next: 6, offset: 0, more: true)
                                                 + p.tcp(40000, 443, options: linuxSYNOptions))),
                   linkType: LinkType.linuxCookedV2),
            Sample(name: "SLL IPv4 UDP",
                   bytes: p.linuxCooked(p.etherTypeIPv4, p.ipv4("198.51.100.7", "192.0.2.10", protocolNumber: 17, p.udp(5353, 53))),
                   linkType: LinkType.linuxCooked),
            Sample(name: "Ethernet ICMP port unreachable",
                   bytes: p.ethernet(p.etherTypeIPv4, p.ipv4("198.51.100.7", "192.0.2.1", protocolNumber: 1,
                                                             p.icmpUnreachable(code: 3, quoting: udpProbe))),
                   linkType: LinkType.ethernet),
            Sample(name: "Raw ICMPv6 port unreachable",
                   bytes: p.ipv6("2001:db8::7", "2001:db8::1", nextHeader: 58, p.icmpv6Unreachable(code: 4, quoting: udpProbeV6)),
                   linkType: LinkType.raw),
            Sample(name: "NULL IPv4 first fragment TCP",
                   bytes: p.null(family: 2, p.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, flagsAndOffset: 0x2000, synV4)),
                   linkType: LinkType.null),
            Sample(name: "VLAN IPv6 AH TCP",
                   bytes: p.ethernet(p.etherTypeIPv6, tags: [(0x8100, 300)],
                                     p.ipv6("2001:db8::1", "2001:db8::2", nextHeader: 51, p.authenticationHeader(next: 6) + synV4)),
                   linkType: LinkType.ethernet),
        ]
    }()

    func testEveryPrefixIsATruncationOrAConsistentPartialDecode() throws {
        var partials = 0
        for sample in samples {
            guard case .success(let whole) = decode(sample.bytes, linkType: sample.linkType) else {
                return XCTFail("\(sample.name): the whole packet must decode")
            }
            for length in 0..<sample.bytes.count {
                let context = "\(sample.name), first \(length) of \(sample.bytes.count) bytes"
                switch decode(Array(sample.bytes.prefix(length)), linkType: sample.linkType) {
                case .failure(let reason):
                    XCTAssertTrue(reason.isTruncation, "\(context): rejected as \(reason.name)")
                case .success(let partial):
                    partials += 1
                    assertConsistent(partial, with: whole, context)
                }
            }
        }
        XCTAssertGreaterThan(partials, 0, "some prefixes end inside options or quotes and still decode")
    }

    private func assertConsistent(_ partial: DecodedPacket, with whole: DecodedPacket, _ context: String) {
        XCTAssertEqual(partial.source, whole.source, context)
        XCTAssertEqual(partial.destination, whole.destination, context)
        XCTAssertEqual(partial.ttl, whole.ttl, context)
        XCTAssertEqual(partial.isIPv6, whole.isIPv6, context)
        XCTAssertEqual(partial.outerVLAN, whole.outerVLAN, context)
        XCTAssertEqual(partial.innerVLAN, whole.innerVLAN, context)
        XCTAssertEqual(partial.fragment, whole.fragment, context)
        switch (partial.transport, whole.transport) {
        case (.tcp(var cut), .tcp(let full)):
            XCTAssertTrue(cut.options == full.options || cut.options.isIncomplete, context)
            cut.options = full.options
            XCTAssertEqual(cut, full, context)
        case (.icmpUnreachable(let cut), .icmpUnreachable(let full)):
            XCTAssertEqual(cut.code, full.code, context)
            XCTAssertEqual(cut.isIPv6, full.isIPv6, context)
            if let quoted = cut.quoted, let fullQuote = full.quoted {
                XCTAssertEqual(quoted.source, fullQuote.source, context)
                XCTAssertEqual(quoted.destination, fullQuote.destination, context)
                XCTAssertEqual(quoted.ttl, fullQuote.ttl, context)
                if quoted.sourcePort != nil {
                    XCTAssertEqual(quoted, fullQuote, context)
                }
            }
        case (.other, _), (.tcpFragment, _):
            XCTAssertEqual(whole.fragment, .first, "\(context): only a first fragment may lose its transport header")
        default:
            XCTFail("\(context): \(partial.transport) does not match \(whole.transport)")
        }
    }

    func testRandomBuffersNeverCrash() {
        var random = SplitMix64(seed: 0x5EED_1234)
        let linkTypes: [Int32] = [LinkType.ethernet, LinkType.linuxCooked, LinkType.linuxCookedV2, LinkType.raw,
                                  LinkType.null, LinkType.loop, LinkType.ipv4, LinkType.ipv6, 147]
        var outcomes: [String: Int] = [:]
        for _ in 0..<100_000 {
            var bytes = (0..<random.next(below: 160)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let linkType = linkTypes[random.next(below: linkTypes.count)]
            // Steer a share of buffers past the link layer, so the IP and transport parsers see noise too.
            if linkType == LinkType.ethernet, bytes.count > 14, random.next(below: 2) == 0 {
                bytes[12] = 0x08; bytes[13] = 0x00; bytes[14] = 0x45
            }
            if (linkType == LinkType.raw || linkType == LinkType.ipv4), !bytes.isEmpty, random.next(below: 2) == 0 {
                bytes[0] = 0x45
            }
            outcomes[outcome(bytes, linkType: linkType), default: 0] += 1
        }
        XCTAssertEqual(outcomes.values.reduce(0, +), 100_000)
        XCTAssertNotNil(outcomes["tcp"], "noise should sometimes look like TCP: \(outcomes)")
        XCTAssertNotNil(outcomes["udp"], "\(outcomes)")
        XCTAssertNotNil(outcomes[DecodeRejection.unsupportedLinkType.name])
        XCTAssertNotNil(outcomes[DecodeRejection.badIPv4HeaderLength.name])
    }

    func testMutatedPacketsNeverCrash() {
        var random = SplitMix64(seed: 42)
        var decodedCount = 0
        for round in 0..<50_000 {
            let sample = samples[round % samples.count]
            var bytes = sample.bytes
            for _ in 0...random.next(below: 4) {
                bytes[random.next(below: bytes.count)] = UInt8(truncatingIfNeeded: random.next())
            }
            bytes.removeLast(random.next(below: bytes.count / 4))
            if Self.successOutcomes.contains(outcome(bytes, linkType: sample.linkType)) { decodedCount += 1 }
        }
        XCTAssertGreaterThan(decodedCount, 10_000, "many light mutations still decode")
        XCTAssertLessThan(decodedCount, 50_000, "some mutations must break a header")
    }

    private static let successOutcomes: Set = ["tcp", "udp", "icmpUnreachable", "icmp", "tcpFragment", "other"]

    /// Decodes and checks the invariants a success must hold; names the outcome for tallying.
    private func outcome(_ bytes: [UInt8], linkType: Int32) -> String {
        switch decode(bytes, linkType: linkType) {
        case .failure(let reason):
            return reason.name
        case .success(let packet):
            switch packet.transport {
            case .tcp(let segment):
                XCTAssertGreaterThanOrEqual(segment.headerLength, 20)
                XCTAssertEqual(segment.headerLength % 4, 0)
                XCTAssertLessThanOrEqual(segment.options.withRawBytes { $0.count }, 40)
                XCTAssertFalse(segment.options.fingerprint.contains(",,"))
                return "tcp"
            case .udp:
                return "udp"
            case .icmpUnreachable(let message):
                if let quoted = message.quoted, quoted.sourcePort != nil {
                    XCTAssertTrue([6, 17, 33, 132, 136].contains(quoted.protocolNumber))
                }
                return "icmpUnreachable"
            case .icmp:
                return "icmp"
            case .tcpFragment(let piece):
                XCTAssertLessThan(piece.offset, 60, "a piece past the largest TCP header holds none of it")
                XCTAssertLessThanOrEqual(Int(piece.capturedStart) + Int(piece.capturedLength), bytes.count)
                XCTAssertLessThanOrEqual(piece.capturedLength, piece.length)
                XCTAssertNotEqual(packet.fragment, .unfragmented)
                return "tcpFragment"
            case .other:
                return "other"
            }
        }
    }
}
