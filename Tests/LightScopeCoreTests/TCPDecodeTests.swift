import LightScopeCore
import LightScopeTestSupport
import XCTest

final class TCPDecodeTests: XCTestCase {
    private func segment(options: [UInt8] = [], dataOffsetWords: UInt8? = nil, flags: UInt8 = 0x02,
                         file: StaticString = #filePath, line: UInt = #line) -> TCPSegment? {
        let tcp = PacketBuilder.tcp(51000, 22, sequence: 0xDEAD_BEEF, acknowledgement: 0x0102_0304, flags: flags,
                                    window: 29200, options: options, dataOffsetWords: dataOffsetWords)
        return decoded(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, tcp), linkType: LinkType.raw,
                       file: file, line: line)?.tcp
    }

    /// Linux's SYN options: MSS 1460, SACK permitted, timestamp, NOP, window scale 7.
    private let linuxSYN: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7]

    func testFixedFields() {
        let tcp = segment(flags: 0b1101_0010)
        XCTAssertEqual(tcp?.sourcePort, 51000)
        XCTAssertEqual(tcp?.destinationPort, 22)
        XCTAssertEqual(tcp?.sequence, 0xDEAD_BEEF)
        XCTAssertEqual(tcp?.acknowledgement, 0x0102_0304)
        XCTAssertEqual(tcp?.window, 29200)
        XCTAssertEqual(tcp?.headerLength, 20)
        XCTAssertEqual(tcp?.flags, [.syn, .ack, .ece, .cwr])
        XCTAssertEqual(tcp?.isConnectionAttempt, false)
        XCTAssertEqual(tcp?.options, TCPOptions())
        XCTAssertEqual(tcp?.options.fingerprint, "")
    }

    func testEachFlagBit() {
        let flags: [(UInt8, TCPFlags)] = [(0x01, .fin), (0x02, .syn), (0x04, .rst), (0x08, .psh), (0x10, .ack),
                                          (0x20, .urg), (0x40, .ece), (0x80, .cwr)]
        for (bit, flag) in flags {
            XCTAssertEqual(segment(flags: bit)?.flags, flag)
        }
        XCTAssertEqual(segment(flags: 0x02)?.isConnectionAttempt, true)
    }

    func testLinuxSYNOptions() {
        let options = segment(options: linuxSYN)?.options
        XCTAssertEqual(options?.mss, 1460)
        XCTAssertEqual(options?.sackPermitted, true)
        XCTAssertEqual(options?.timestamp, TCPTimestamp(value: 12345, echo: 0))
        XCTAssertEqual(options?.windowScale, 7)
        XCTAssertEqual(options?.isIncomplete, false)
        XCTAssertEqual(options?.fingerprint, "M1460,S,T,N,W7")
        XCTAssertEqual(segment(options: linuxSYN)?.headerLength, 40)
    }

    func testEndOfListStopsParsing() {
        // An MSS after EOL is padding garbage, not an option.
        let options = segment(options: [3, 3, 2, 0, 2, 4, 5, 0xB4])?.options
        XCTAssertEqual(options?.windowScale, 2)
        XCTAssertNil(options?.mss)
        XCTAssertEqual(options?.isIncomplete, false)
        XCTAssertEqual(options?.fingerprint, "W2,E")
    }

    func testUnknownKindsAreSkippedByLength() {
        // Kind 30 (MPTCP) with 6 bytes, kind 5 (SACK) with 10, then MSS.
        let bytes: [UInt8] = [30, 6, 1, 2, 3, 4] + [5, 10, 0, 0, 0, 1, 0, 0, 0, 2] + [2, 4, 0x02, 0x18]
        let options = segment(options: bytes)?.options
        XCTAssertEqual(options?.mss, 536)
        XCTAssertEqual(options?.fingerprint, "K30,K5,M536")
    }

    func testKnownKindWithWrongLengthIsNotTrusted() {
        let options = segment(options: [2, 3, 5, 1, 3, 4, 7, 7])?.options
        XCTAssertNil(options?.mss)
        XCTAssertNil(options?.windowScale)
        XCTAssertEqual(options?.isIncomplete, false)
        XCTAssertEqual(options?.fingerprint, "K2,N,K3", "MSS of length 3 swallows one byte; the 1 after it is a NOP")
    }

    func testLengthBelowTwoStopsOptionsButNotThePacket() {
        for badLength: UInt8 in [0, 1] {
            let tcp = segment(options: [2, 4, 0x05, 0xB4, 8, badLength, 3, 3])
            XCTAssertEqual(tcp?.destinationPort, 22)
            XCTAssertEqual(tcp?.options.mss, 1460)
            XCTAssertEqual(tcp?.options.isIncomplete, true)
            XCTAssertEqual(tcp?.options.fingerprint, "M1460,?")
        }
    }

    func testLengthPastTheOptionSpaceStopsOptions() {
        let tcp = segment(options: [1, 3, 3, 6, 2, 40, 0, 0])
        XCTAssertEqual(tcp?.options.windowScale, 6)
        XCTAssertNil(tcp?.options.mss)
        XCTAssertEqual(tcp?.options.isIncomplete, true)
        XCTAssertEqual(tcp?.options.fingerprint, "N,W6,?")
    }

    func testMissingLengthByteStopsOptions() {
        let tcp = segment(options: [1, 1, 1, 8])
        XCTAssertEqual(tcp?.options.isIncomplete, true)
        XCTAssertEqual(tcp?.options.fingerprint, "N,N,N,?")
    }

    func testOptionsCutByTheCaptureAreIncomplete() {
        // Data offset says 40 bytes, only 28 are there.
        let tcp = segment(options: Array(linuxSYN.prefix(8)), dataOffsetWords: 10)
        XCTAssertEqual(tcp?.options.mss, 1460)
        XCTAssertEqual(tcp?.options.sackPermitted, true)
        XCTAssertNil(tcp?.options.timestamp)
        XCTAssertEqual(tcp?.options.isIncomplete, true)
        XCTAssertEqual(tcp?.options.fingerprint, "M1460,S,?", "the timestamp's length runs past what was captured")
    }

    func testMaximumOptionSpace() {
        let forty = [UInt8](repeating: 1, count: 36) + [3, 3, 14, 0]
        let options = segment(options: forty)?.options
        XCTAssertEqual(options?.windowScale, 14)
        XCTAssertEqual(options?.fingerprint.split(separator: ",").count, 38)
    }

    func testDataOffsetBelowFiveIsRejected() {
        let tcp = PacketBuilder.tcp(1, 2, dataOffsetWords: 4)
        XCTAssertEqual(rejection(PacketBuilder.ipv4("203.0.113.9", "192.0.2.1", protocolNumber: 6, tcp), linkType: LinkType.raw),
                       .badTCPDataOffset)
    }

    func testOptionsBuiltFromBytes() {
        let options = linuxSYN.withUnsafeBytes { TCPOptions(bytes: $0) }
        XCTAssertEqual(options.fingerprint, "M1460,S,T,N,W7")
        XCTAssertEqual(options.withRawBytes { Array($0) }, linuxSYN)
        XCTAssertNotEqual(options, TCPOptions())
    }
}
