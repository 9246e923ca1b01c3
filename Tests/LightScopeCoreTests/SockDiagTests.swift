@testable import LightScopeCore
import XCTest

/// The sock_diag request and reply layouts, as bytes (the live query is tested against the
/// kernel in the daemon's tests).
final class SockDiagTests: XCTestCase {
    let tcp4 = SockDiag.Query.listening[0]
    let udp6 = SockDiag.Query.listening[3]

    func testRequestIsANetlinkHeaderAndAnInetDiagRequest() {
        let bytes = SockDiag.request(tcp4, sequence: 7)
        XCTAssertEqual(bytes.count, 72)
        XCTAssertEqual(bytes[0..<4], [72, 0, 0, 0], "nlmsg_len, host order")
        XCTAssertEqual(bytes[4..<6], [20, 0], "SOCK_DIAG_BY_FAMILY")
        XCTAssertEqual(bytes[6..<8], [0x01, 0x03], "NLM_F_REQUEST | NLM_F_DUMP")
        XCTAssertEqual(bytes[8..<12], [7, 0, 0, 0], "sequence")
        XCTAssertEqual(bytes[16..<20], [2, 6, 0, 0], "AF_INET, IPPROTO_TCP")
        XCTAssertEqual(bytes[20..<24], [0, 4, 0, 0], "states: 1 << TCP_LISTEN (10)")
        XCTAssertEqual(Array(bytes[24...]), [UInt8](repeating: 0, count: 48), "any socket")
        XCTAssertEqual(SockDiag.request(udp6, sequence: 1)[16..<24], [10, 17, 0, 0, 0x80, 0, 0, 0], "AF_INET6, UDP, 1 << 7")
    }

    /// One inet_diag reply message: header, then family, state, timer, retrans, ports.
    func message(state: UInt8, port: UInt16, peerPort: UInt16 = 0, type: UInt16 = 20) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt32(16 + 72)) { bytes += $0 }
        withUnsafeBytes(of: type) { bytes += $0 }
        bytes += [2, 0] + [1, 0, 0, 0] + [0, 0, 0, 0]
        bytes += [2, state, 0, 0, UInt8(port >> 8), UInt8(port & 0xFF), UInt8(peerPort >> 8), UInt8(peerPort & 0xFF)]
        bytes += [UInt8](repeating: 0, count: 72 - 8)
        return bytes
    }

    func done() -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt32(20)) { bytes += $0 }
        withUnsafeBytes(of: UInt16(3)) { bytes += $0 }
        return bytes + [UInt8](repeating: 0, count: 14)
    }

    func parse(_ bytes: [UInt8], _ query: SockDiag.Query) -> SockDiag.Reply {
        bytes.withUnsafeBytes { SockDiag.parse($0, query: query) }
    }

    func testPortsOfMatchingSocketsUntilDone() {
        let buffer = message(state: 10, port: 22) + message(state: 10, port: 8080) + message(state: 1, port: 443)
        XCTAssertEqual(parse(buffer, tcp4), .ports([22, 8080]), "an established socket is not listening")
        XCTAssertEqual(parse(message(state: 10, port: 25) + done(), tcp4), .done([25]))
        XCTAssertEqual(parse([], tcp4), .ports([]))
    }

    func testUDPSocketsWithAPeerAreNotListening() {
        let buffer = message(state: 7, port: 53) + message(state: 7, port: 40000, peerPort: 53) + done()
        XCTAssertEqual(parse(buffer, udp6), .done([53]))
    }

    func testKernelErrorsAndBrokenLengthsFailInsteadOfGuessing() {
        var error: [UInt8] = []
        withUnsafeBytes(of: UInt32(36)) { error += $0 }
        withUnsafeBytes(of: UInt16(2)) { error += $0 }
        error += [UInt8](repeating: 0, count: 10)
        withUnsafeBytes(of: Int32(-1)) { error += $0 } // -EPERM
        error += [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(parse(error, tcp4), .failed("the kernel answered errno 1"))
        var tooLong = message(state: 10, port: 22)
        tooLong[0] = 200
        guard case .failed = parse(tooLong, tcp4) else { return XCTFail("a length past the buffer must fail") }
        var tooShort = message(state: 10, port: 22)
        tooShort[0] = 4
        guard case .failed = parse(tooShort, tcp4) else { return XCTFail("a length under the header must fail") }
    }

    func testEveryPrefixOfAReplyParsesWithoutTrapping() {
        let buffer = message(state: 10, port: 22) + message(state: 10, port: 23) + done()
        for count in 0...buffer.count { _ = parse(Array(buffer.prefix(count)), tcp4) }
    }
}
