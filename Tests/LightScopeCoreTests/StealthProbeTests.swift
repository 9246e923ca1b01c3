@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Probes without SYN (issue 23, part 0), from their bytes through the real decoder: the FIN,
/// NULL and Xmas probes of `nmap -sF`, `-sN` and `-sX`, which a closed port answers with
/// RST-ACK and an open one not at all. A real connection's segments all carry ACK, so a
/// FIN-ACK, however late, is none of them.
final class StealthProbeTests: EngineTestCase {
    private typealias P = PacketBuilder
    static let fin: UInt8 = 0x01, null: UInt8 = 0x00, xmas: UInt8 = 0x29

    /// A segment from its bytes: IPv4 (or IPv6 when `source` is), decoded as a capture would be.
    func segment(_ source: IPAddress, _ sourcePort: UInt16, _ destination: IPAddress, _ destinationPort: UInt16,
                 flags: UInt8, acknowledgement: UInt32 = 0) throws -> DecodedPacket {
        let tcp = P.tcp(sourcePort, destinationPort, acknowledgement: acknowledgement, flags: flags, window: 1024)
        let bytes = source.isIPv4 ? P.ipv4("\(source)", "\(destination)", protocolNumber: 6, tcp)
            : P.ipv6("\(source)", "\(destination)", nextHeader: 6, tcp)
        return try bytes.withUnsafeBytes { try PacketDecoder.decode($0, linkType: LinkType.raw) }
    }

    func testFinNullAndXmasProbesOfClosedPortsAreClosed() throws {
        let engine = makeEngine()
        for (index, flags) in [Self.fin, Self.null, Self.xmas].enumerated() {
            let port = UInt16(1000 + index)
            feed(engine, try segment(remote, 40000, local, port, flags: flags), at: UInt64(index) * second)
            feed(engine, try segment(local, port, remote, 40000, flags: 0x14), at: UInt64(index) * second + 1000)
        }
        XCTAssertEqual(events.map(\.verdict), [.closed, .closed, .closed])
        XCTAssertEqual(events.map(\.destinationPort), [1000, 1001, 1002])
        XCTAssertEqual(events.map(\.source), [remote, remote, remote])
        XCTAssertEqual(events.map(\.tcpFlags), [.fin, [], [.fin, .psh, .urg]])
        XCTAssertEqual(events.map { $0.tcpFlags?.letters }, ["F", "", "FPU"])
    }

    /// Which segments are probes, flag byte by flag byte: exactly those without ACK and RST
    /// (`DetectionCore.process` takes them apart from every other packet, first).
    func testEverySegmentWithoutACKOrRSTIsAProbeAndNoOtherIs() throws {
        for flags in UInt8.min...UInt8.max {
            let engine = makeEngine()
            feed(engine, try segment(remote, 40000, local, 80, flags: flags), at: second)
            XCTAssertEqual(engine.counters.probes, flags & 0x14 == 0 ? 1 : 0, "flags \(flags)")
        }
    }

    func testFlagsReadAsNmapAndTcpdumpWriteThem() {
        XCTAssertEqual(TCPFlags.syn.letters, "S")
        XCTAssertEqual(TCPFlags([.fin, .ack]).letters, "FA")
        XCTAssertEqual(TCPFlags.ack.letters, "A")
        XCTAssertEqual(TCPFlags([.syn, .ece, .cwr]).letters, "SEC")
        XCTAssertEqual(TCPFlags(rawValue: 0xFF).letters, "FSRPAUEC")
    }

    /// Silence is how an open port answers a stealth probe: `unanswered` (open or filtered),
    /// even on a listening port, where a SYN's silence means a busy service and no event.
    func testUnansweredStealthProbesAreReportedEvenOnListeningPorts() throws {
        let engine = makeEngine()
        engine.updateListeningPorts(ListeningPorts(tcp: [22]))
        feed(engine, try segment(remote, 40000, local, 22, flags: Self.fin), at: 0)
        feed(engine, try segment(remote, 40001, local, 23, flags: Self.xmas), at: 1000)
        feed(engine, tcp(remote, 40002, local, 22, .syn), at: 2000)
        engine.advance(toNanos: 11 * second) { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.unanswered, .unanswered])
        XCTAssertEqual(events.map(\.destinationPort), [22, 23])
    }

    func testIPv6StealthProbesAreSeen() throws {
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [IPAddress("2001:db8::1")!]))
        let remote6 = IPAddress("2001:db8::9")!, local6 = IPAddress("2001:db8::1")!
        feed(engine, try segment(remote6, 40000, local6, 80, flags: Self.null), at: 0)
        feed(engine, try segment(local6, 80, remote6, 40000, flags: 0x14), at: 1000)
        XCTAssertEqual(events.map(\.verdict), [.closed])
    }

    /// Late packets of real connections carry ACK: a FIN-ACK or data after the grace window
    /// are no probes, answered or not.
    func testLatePacketsOfRealConnectionsAreNoProbes() throws {
        let engine = makeEngine()
        feed(engine, try segment(remote, 40000, local, 443, flags: 0x11, acknowledgement: 9), at: 0)
        feed(engine, try segment(remote, 40000, local, 443, flags: 0x18, acknowledgement: 9), at: 1000)
        engine.advance(toNanos: 60 * second) { events.append($0) }
        XCTAssertEqual(events, [])
    }

    /// A stealth probe from a remote with a real connection to the port within the grace
    /// window is that connection's: no event, as for a SYN.
    func testAStealthProbeWithinTheGraceWindowIsNotUnwanted() throws {
        let engine = makeEngine()
        feed(engine, tcp(remote, 40000, local, 8080, .syn), at: 0)
        feed(engine, tcp(local, 8080, remote, 40000, [.syn, .ack]), at: 1000)
        feed(engine, try segment(remote, 40001, local, 8080, flags: Self.fin), at: 2 * second)
        feed(engine, try segment(local, 8080, remote, 40001, flags: 0x14), at: 2 * second + 1000)
        feed(engine, try segment(remote, 40002, local, 8080, flags: Self.null), at: 3 * second)
        engine.advance(toNanos: 30 * second) { events.append($0) }
        XCTAssertEqual(events, [])
    }

    /// They count toward the scans like SYNs: 15 ports is a portscan, 25 addresses an addrscan.
    func testStealthProbesCountTowardPortAndAddressScans() throws {
        let engine = makeEngine()
        for port in UInt16(1)...15 {
            feed(engine, try segment(remote, 40000, local, port, flags: Self.fin), at: UInt64(port) * 1000)
            feed(engine, try segment(local, port, remote, 40000, flags: 0x14), at: UInt64(port) * 1000 + 500)
        }
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.map(\.tcpFlags), [.fin], "the scan names the flags of the probe that completed it")
        events = []
        let other = IPAddress("203.0.113.50")!
        let addresses = (1...25).map { IPAddress("192.0.2.\(100 + $0)")! }
        let wide = DetectionEngine(interface: "eth0", settings: Settings.Detection(), localAddresses: LocalAddresses(addresses: Set(addresses)))
        for (index, address) in addresses.enumerated() {
            feed(wide, try segment(other, 40000, address, 23, flags: Self.xmas), at: UInt64(index) * 1000)
            feed(wide, try segment(address, 23, other, 40000, flags: 0x14), at: UInt64(index) * 1000 + 500)
        }
        XCTAssertEqual(events.filter { $0.verdict == .addrscan }.count, 1)
    }
}
