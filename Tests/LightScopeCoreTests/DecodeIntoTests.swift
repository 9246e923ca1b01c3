@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `PacketDecoder.decode(_:linkType:into:)`, which the packet loop uses to decode into its
/// batch, gives what `decode` returns, and throws what it throws, on any frame.
final class DecodeIntoTests: XCTestCase {
    private let p = PacketBuilder.self

    private func returned(_ bytes: [UInt8], _ linkType: Int32) -> Result<DecodedPacket, DecodeRejection> {
        bytes.withUnsafeBytes { raw in Result { () throws(DecodeRejection) in try PacketDecoder.decode(raw, linkType: linkType) } }
    }

    private func written(_ bytes: [UInt8], _ linkType: Int32) -> Result<DecodedPacket, DecodeRejection> {
        let slot = UnsafeMutablePointer<DecodedPacket>.allocate(capacity: 1)
        defer { slot.deallocate() }
        return bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeRejection) in
                try PacketDecoder.decode(raw, linkType: linkType, into: slot)
                return slot.move()
            }
        }
    }

    func testEveryFrameDecodesIntoMemoryAsItIsReturned() {
        let segment = p.tcp(40000, 8080, flags: 0x02, options: [2, 4, 0x05, 0xB4])
        let samples: [[UInt8]] = [
            p.ethernet(p.etherTypeIPv4, p.ipv4("10.1.2.3", "192.0.2.1", ttl: 50, protocolNumber: 6, segment)),
            p.ethernet(p.etherTypeIPv4, p.ipv4("192.0.2.1", "10.1.2.3", ttl: 64, protocolNumber: 6,
                                               p.tcp(8080, 40000, flags: 0x12))),
            p.ethernet(p.etherTypeIPv6, p.ipv6("2001:db8::7", "2001:db8::1", hopLimit: 50, nextHeader: 6, segment)),
        ] + p.fragmented(segment, pieceBytes: 8, source: "10.1.2.3", destination: "192.0.2.1")
        var random = SplitMix64(seed: 0xDEC0_DE)
        var decoded = 0
        for round in 0..<50_000 {
            var bytes = samples[random.next(below: samples.count)]
            if round > 0 {
                for _ in 0...random.next(below: 3) {
                    bytes[12 + random.next(below: bytes.count - 12)] = UInt8(truncatingIfNeeded: random.next())
                }
                bytes.removeLast(random.next(below: bytes.count / 3))
            }
            let linkType = round % 5 == 4 ? LinkType.raw : LinkType.ethernet
            let expected = returned(bytes, linkType)
            XCTAssertEqual(written(bytes, linkType), expected, "round \(round): \(bytes)")
            if case .success = expected { decoded += 1 }
        }
        XCTAssertGreaterThan(decoded, 10_000, "the property was exercised")
    }
}
