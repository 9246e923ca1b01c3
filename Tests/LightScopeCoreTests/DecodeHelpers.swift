@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Decodes test bytes into a `Result`, so tests can compare rejections as values.
func decode(_ bytes: [UInt8], linkType: Int32 = LinkType.ethernet) -> Result<DecodedPacket, DecodeRejection> {
    bytes.withUnsafeBytes { buffer in
        Result { () throws(DecodeRejection) -> DecodedPacket in try PacketDecoder.decode(buffer, linkType: linkType) }
    }
}

/// The decoded packet, or a test failure naming the rejection.
func decoded(_ bytes: [UInt8], linkType: Int32 = LinkType.ethernet,
             file: StaticString = #filePath, line: UInt = #line) -> DecodedPacket? {
    switch decode(bytes, linkType: linkType) {
    case .success(let packet):
        return packet
    case .failure(let reason):
        XCTFail("rejected as \(reason.name)", file: file, line: line)
        return nil
    }
}

func rejection(_ bytes: [UInt8], linkType: Int32 = LinkType.ethernet) -> DecodeRejection? {
    if case .failure(let reason) = decode(bytes, linkType: linkType) { return reason }
    return nil
}

extension DecodedPacket {
    var tcp: TCPSegment? { if case .tcp(let segment) = transport { segment } else { nil } }
    var udp: UDPDatagram? { if case .udp(let datagram) = transport { datagram } else { nil } }
    var unreachable: ICMPUnreachable? { if case .icmpUnreachable(let message) = transport { message } else { nil } }
}
