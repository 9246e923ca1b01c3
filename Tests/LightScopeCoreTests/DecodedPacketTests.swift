import LightScopeCore
import XCTest

final class DecodedPacketTests: XCTestCase {
    /// Replay hands millions of decoded packets from the reading thread to the detection
    /// thread, so their size is memory traffic: the direction and extension-header fields
    /// live in what was the transport's tail padding, the IPv4 identification and
    /// don't-fragment bit in the padding before it, and the stride is what it was before.
    func testTheDirectionExtensionAndIPv4FieldsCostNoMemory() {
        XCTAssertEqual(MemoryLayout<DecodedPacket>.stride, 112)
    }

    func testOnlyAPlainPacketNotSeenComingInMayBeTheHostsAnswer() {
        let rst = Transport.tcp(TCPSegment(sourcePort: 22, destinationPort: 40000, sequence: 0, acknowledgement: 1,
                                           flags: [.rst, .ack], window: 0))
        func packet(_ direction: PacketDirection, fragment: IPFragment = .unfragmented, extensionHeaders: Bool = false) -> DecodedPacket {
            DecodedPacket(source: IPAddress("192.0.2.1")!, destination: IPAddress("198.51.100.7")!, isIPv6: false, ttl: 64,
                          fragment: fragment, transport: rst, direction: direction, hasExtensionHeaders: extensionHeaders)
        }
        XCTAssertTrue(packet(.outbound).mayBeHostAnswer)
        XCTAssertTrue(packet(.unknown).mayBeHostAnswer, "Ethernet: the capture filter admits only outbound answers")
        XCTAssertFalse(packet(.inbound).mayBeHostAnswer)
        for fragment in [IPFragment.first, .subsequent, .reassembled] {
            XCTAssertFalse(packet(.outbound, fragment: fragment).mayBeHostAnswer, "\(fragment)")
        }
        XCTAssertFalse(packet(.unknown, extensionHeaders: true).mayBeHostAnswer)
    }
}
