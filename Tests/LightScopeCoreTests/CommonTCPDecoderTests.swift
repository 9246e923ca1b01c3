@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `CommonTCPDecoder` may only answer for what the layer-by-layer walk would decode the same:
/// whenever it gives a packet, `PacketDecoder.decodeLayers` gives the same one.
final class CommonTCPDecoderTests: XCTestCase {
    private let p = PacketBuilder.self

    private func common(_ bytes: [UInt8]) -> DecodedPacket? {
        bytes.withUnsafeBytes { CommonTCPDecoder.decode($0) }
    }

    private func layers(_ bytes: [UInt8]) -> Result<DecodedPacket, DecodeRejection> {
        bytes.withUnsafeBytes { raw in Result { () throws(DecodeRejection) in try PacketDecoder.decodeLayers(raw, linkType: LinkType.ethernet) } }
    }

    private func frame(flags: UInt8 = 0x02, flagsAndOffset: UInt16 = 0, totalLength: UInt16? = nil, ipOptions: [UInt8] = [],
                       options: [UInt8] = [], dataOffsetWords: UInt8? = nil, payload: [UInt8] = []) -> [UInt8] {
        p.ethernet(p.etherTypeIPv4, p.ipv4("10.1.2.3", "192.0.2.1", ttl: 50, protocolNumber: 6, options: ipOptions,
                                           flagsAndOffset: flagsAndOffset, totalLength: totalLength, identification: 54321,
                                           p.tcp(40000, 8080, sequence: 0xC000_0201, acknowledgement: 7, flags: flags, window: 1024,
                                                 options: options, dataOffsetWords: dataOffsetWords, payload: payload)))
    }

    /// The shapes it is for: SYNs with and without options, DF set or clear, a SYN-ACK, an
    /// IP total length of zero, Ethernet padding, options the capture cut short.
    private var samples: [[UInt8]] {
        let options: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]
        let syn = frame()
        return [
            syn, frame(flagsAndOffset: 0x4000), frame(options: options), frame(flags: 0x12, flagsAndOffset: 0x4000, options: options),
            frame(totalLength: 0), frame(payload: [UInt8](repeating: 0, count: 6)),
            Array(frame(options: options).prefix(60)), frame(totalLength: 44, options: options),
            syn + [UInt8](repeating: 0xEE, count: 6),
        ]
    }

    func testTheCommonFramesTakeTheStraightPathAndDecodeAsTheWalkDoes() throws {
        for (number, bytes) in samples.enumerated() {
            let packet = try XCTUnwrap(common(bytes), "sample \(number)")
            XCTAssertEqual(layers(bytes), .success(packet), "sample \(number)")
        }
        let packet = try XCTUnwrap(common(frame(options: [2, 4, 0x05, 0xB4])))
        guard case .tcp(let segment) = packet.transport else { return XCTFail("\(packet.transport)") }
        XCTAssertEqual(segment.options.mss, 1460)
        XCTAssertEqual(packet.ipv4Identification, 54321)
        XCTAssertFalse(packet.ipv4DontFragment)
    }

    func testWhatTheStraightPathLeavesToTheWalk() {
        XCTAssertNil(common(frame(flagsAndOffset: 0x2000)), "a first fragment")
        XCTAssertNil(common(frame(flagsAndOffset: 0x0001)), "a later fragment")
        XCTAssertNil(common(frame(ipOptions: [1, 1, 1, 0])), "IP options")
        XCTAssertNil(common(frame(totalLength: 39)), "a total length short of the TCP header")
        XCTAssertNil(common(frame(dataOffsetWords: 4)), "a data offset below 5")
        XCTAssertNil(common(p.ethernet(p.etherTypeIPv4, tags: [(0x8100, 7)], Array(frame().dropFirst(14)))), "a VLAN tag")
        XCTAssertNil(common(Array(frame().prefix(53))), "a capture short of the TCP header")
    }

    /// Random and mutated frames: every one it decodes, the walk decodes the same.
    func testEveryFrameItDecodesTheWalkDecodesTheSame() {
        var random = SplitMix64(seed: 0xC0_77_0E)
        let samples = samples
        var decoded = 0
        for round in 0..<200_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = samples[random.next(below: samples.count)]
                for _ in 0...random.next(below: 3) {
                    // Mostly in the headers, where the checks are.
                    let position = random.next(below: 4) == 0 ? random.next(below: bytes.count) : 12 + random.next(below: 50)
                    bytes[min(position, bytes.count - 1)] = UInt8(truncatingIfNeeded: random.next())
                }
                bytes.removeLast(random.next(below: bytes.count / 3))
            } else {
                bytes = (0..<random.next(below: 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if bytes.count > 24 { bytes[12] = 0x08; bytes[13] = 0; bytes[14] = 0x45; bytes[23] = 6 }
                if bytes.count > 47, random.next(below: 2) == 0 { bytes[20] &= 0x40; bytes[21] = 0; bytes[46] = 0x50 }
            }
            guard let packet = common(bytes) else { continue }
            decoded += 1
            guard case .success(let walked) = layers(bytes), walked == packet else {
                return XCTFail("round \(round): \(packet) but the walk gives \(layers(bytes)): \(bytes)")
            }
        }
        XCTAssertGreaterThan(decoded, 20_000, "the property was exercised")
    }
}
