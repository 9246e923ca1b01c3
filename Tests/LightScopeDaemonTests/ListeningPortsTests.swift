import Foundation
@testable import LightScopeDaemon
import LightScopeCore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The listening-port query against the real kernel: sockets this test opens on loopback
/// (nothing is sent) must show up through netlink sock_diag, and netlink must agree with
/// /proc/net, the source it replaced.
final class ListeningPortsTests: XCTestCase {
    /// A socket bound to 127.0.0.1 on a port the kernel picks; listening if TCP.
    private func openSocket(tcp: Bool) throws -> (descriptor: Int32, port: UInt16) {
        let descriptor = socket(AF_INET, Int32(tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound, !tcp || listen(descriptor, 1) == 0 else {
            close(descriptor)
            throw TestError("bind/listen: errno \(errno)")
        }
        return (descriptor, UInt16(bigEndian: address.sin_port))
    }

    func testNetlinkSeesListeningSocketsAndAgreesWithProcNet() throws {
        let tcp = try openSocket(tcp: true)
        defer { close(tcp.descriptor) }
        let udp = try openSocket(tcp: false)
        defer { close(udp.descriptor) }
        guard let netlink = ListeningSocketsNetlink.listeningPorts() else {
            return XCTFail("netlink sock_diag is available on every kernel this runs on; the query failed")
        }
        XCTAssertTrue(netlink.tcp.contains(tcp.port), "TCP port \(tcp.port) listens")
        XCTAssertTrue(netlink.udp.contains(udp.port), "UDP port \(udp.port) is bound")
        // Other processes may open or close sockets in between: retry before calling it a mismatch.
        var procNet = HostFactsReader.listeningPortsFromProcNet()
        var again = netlink
        for _ in 0..<3 where again != procNet {
            again = ListeningSocketsNetlink.listeningPorts() ?? ListeningPorts()
            procNet = HostFactsReader.listeningPortsFromProcNet()
        }
        XCTAssertEqual(again, procNet, "netlink and /proc/net must list the same ports")
        XCTAssertEqual(HostFactsReader.listeningPorts(), again, "the daemon uses netlink")
    }
}

private struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
