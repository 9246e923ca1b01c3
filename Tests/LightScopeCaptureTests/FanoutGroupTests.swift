import CPcap
import LightScopeCapture
import LightScopeCore
import LightScopeTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// PACKET_FANOUT through real libpcap handles on the test host's loopback: groups made
/// separately (two daemons, or a test beside the daemon) never share packets, and one
/// address pair's packets, both ways, all go to one member. Only the test's own segments
/// (port 9) are counted.
final class FanoutGroupTests: XCTestCase {
    func testGroupsStayApartAndAnAddressPairStaysOnOneMember() throws {
        try requireRoot()
        let loopback = try XCTUnwrap(NetworkInterfaces.current().first { $0.isLoopback })
        let options = PcapHandle.Options(snaplenBytes: 128, bufferSizeBytes: 1 << 20)
        let ours = FanoutGroup()
        let theirs = FanoutGroup()
        let members = try (0..<2).map { _ in try PcapHandle(interfaceName: loopback.name, options: options) }
        let other = try PcapHandle(interfaceName: loopback.name, options: options)
        defer { (members + [other]).forEach { $0.close() } }
        for handle in members { try handle.join(ours) }
        try other.join(theirs)
        let ourID = try XCTUnwrap(ours.id)
        XCTAssertNotEqual(ourID, try XCTUnwrap(theirs.id), "each group's id is the kernel's own choice")

        let attempts = 20
        for _ in 0..<attempts { connectToClosedLoopbackPort() }
        usleep(500_000) // let the kernel retire the ring blocks (libpcap's read timeout)
        let counts = (members + [other]).map(drain)
        // The other group has a member of its own, which sees every SYN and RST.
        XCTAssertEqual(counts[2], 2 * attempts, "\(counts)")
        // 127.0.0.1 both ways is one address pair: one member has them all, the other none.
        XCTAssertEqual(counts[0] + counts[1], 2 * attempts, "\(counts)")
        XCTAssertEqual(min(counts[0], counts[1]), 0, "\(counts)")
    }

    private func drain(_ handle: PcapHandle) -> Int {
        var total = 0
        let count: pcap_handler = { context, header, bytes in
            guard let header, let bytes, isDiscardPortSegment(UnsafeRawBufferPointer(start: bytes, count: Int(header.pointee.caplen)))
            else { return }
            context?.withMemoryRebound(to: Int.self, capacity: 1) { $0.pointee += 1 }
        }
        while true {
            let handed = withUnsafeMutablePointer(to: &total) { pointer in
                (try? handle.dispatch(context: UnsafeMutableRawPointer(pointer), callback: count, maximumPackets: 1024)) ?? 0
            }
            if handed == 0 { return total }
        }
    }

    private func connectToClosedLoopbackPort() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(9).bigEndian // discard: nothing listens here in a test host
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// Whether a loopback frame (Ethernet, IPv4) is a TCP segment to or from port 9: the
/// test's own. Other programs use loopback too (a PostgreSQL server of another test run
/// gave one run 1,074 packets more), and every 127.0.0.1 pair hashes alike.
private func isDiscardPortSegment(_ frame: UnsafeRawBufferPointer) -> Bool {
    guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 6 else { return false }
    let transport = 14 + Int(frame[14] & 0x0F) * 4
    guard frame.count >= transport + 4 else { return false }
    let sourcePort = UInt16(frame[transport]) << 8 | UInt16(frame[transport + 1])
    let destinationPort = UInt16(frame[transport + 2]) << 8 | UInt16(frame[transport + 3])
    return sourcePort == 9 || destinationPort == 9
}
