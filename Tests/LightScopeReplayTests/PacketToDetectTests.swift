@testable import LightScopeCore
@testable import LightScopeReplay
import XCTest

/// The detection thread hands the engine each packet's address in its batch
/// (`PacketToDetect.packetAddress`), which takes the packet to be the element's first field.
final class PacketToDetectTests: XCTestCase {
    func testThePacketIsAtTheElementsOwnAddress() {
        XCTAssertEqual(MemoryLayout<PacketToDetect>.offset(of: \.packet), 0)
        let segment = TCPSegment(sourcePort: 40000, destinationPort: 22, sequence: 7, acknowledgement: 0, headerLength: 20,
                                 flags: .syn, window: 1024, options: TCPOptions())
        let packet = DecodedPacket(source: IPAddress("10.0.0.1")!, destination: IPAddress("192.0.2.1")!, isIPv6: false, ttl: 50,
                                   ipv4Identification: 9, transport: .tcp(segment))
        let elements = [PacketToDetect(timersAtNanos: 3), PacketToDetect(packet: packet, timeNanos: 5)]
        elements.withUnsafeBufferPointer { elements in
            XCTAssertFalse(elements[0].hasPacket)
            XCTAssertTrue(elements[1].hasPacket)
            XCTAssertEqual(PacketToDetect.packetAddress(elements.baseAddress! + 1).pointee, packet)
            XCTAssertEqual(elements[1].timeNanos, 5)
        }
    }
}
