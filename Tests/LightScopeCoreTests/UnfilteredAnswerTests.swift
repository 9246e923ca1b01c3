@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// ACK, Maimon and window probes (issue 23, part 0), seen from the host's RST without ACK,
/// from their bytes through the real decoder: the probe itself is passed over, its answer is
/// `unfiltered`, unless the reset is the host's own connection's.
final class UnfilteredAnswerTests: EngineTestCase {
    private typealias P = PacketBuilder
    static let rst: UInt8 = 0x04, rstAck: UInt8 = 0x14, ack: UInt8 = 0x10, finAck: UInt8 = 0x11

    private func segment(_ source: IPAddress, _ sourcePort: UInt16, _ destination: IPAddress, _ destinationPort: UInt16,
                         flags: UInt8, direction: PacketDirection = .unknown) throws -> DecodedPacket {
        let tcp = P.tcp(sourcePort, destinationPort, sequence: 0xABCD, acknowledgement: 0x1234, flags: flags, window: 1024)
        let bytes = source.isIPv4 ? P.ipv4("\(source)", "\(destination)", protocolNumber: 6, tcp)
            : P.ipv6("\(source)", "\(destination)", nextHeader: 6, tcp)
        var packet = try bytes.withUnsafeBytes { try PacketDecoder.decode($0, linkType: LinkType.raw) }
        packet.direction = direction
        return packet
    }

    /// An ACK probe and a Maimon (FIN-ACK) probe, each reset by the host: two events, each
    /// dated by the reset, naming the prober as the source.
    func testTheHostsResetOfAnAckProbeIsUnfiltered() throws {
        let engine = makeEngine()
        feed(engine, try segment(remote, 40000, local, 80, flags: Self.ack), at: 0)
        feed(engine, try segment(local, 80, remote, 40000, flags: Self.rst), at: 1000)
        feed(engine, try segment(remote, 40000, local, 81, flags: Self.finAck), at: 2000)
        feed(engine, try segment(local, 81, remote, 40000, flags: Self.rst), at: 3000)
        XCTAssertEqual(events.map(\.verdict), [.unfiltered, .unfiltered])
        XCTAssertEqual(events.map(\.destinationPort), [80, 81])
        XCTAssertEqual(events.map(\.timeNanos), [1000, 3000])
        XCTAssertEqual(events.first?.source, remote)
        XCTAssertEqual(events.first?.sourcePort, 40000)
        XCTAssertEqual(events.first?.destination, local)
        XCTAssertEqual(events.first?.packets, 1)
    }

    func testIPv6ResetsAreUnfilteredToo() throws {
        let local6 = IPAddress("2001:db8::1")!, remote6 = IPAddress("2001:db8::9")!
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(), localAddresses: LocalAddresses(addresses: [local6]))
        feed(engine, try segment(local6, 443, remote6, 40000, flags: Self.rst), at: 0)
        XCTAssertEqual(events.map(\.verdict), [.unfiltered])
    }

    /// The host's own resets: a RST-ACK answering nothing pending, a RST from its ephemeral
    /// range (its outbound connections'), a RST to a remote it had a connection with on that
    /// port within the grace window, one that came in (forged), and one between remotes.
    func testTheHostsOwnConnectionsResetsAreNotUnfiltered() throws {
        let engine = makeEngine()
        feed(engine, try segment(local, 80, remote, 40000, flags: Self.rstAck), at: 0)
        feed(engine, try segment(local, 45000, remote, 443, flags: Self.rst), at: 1000)
        feed(engine, tcp(remote, 41000, local, 8080, .syn), at: 2000)
        feed(engine, tcp(local, 8080, remote, 41000, [.syn, .ack]), at: 3000)
        feed(engine, try segment(local, 8080, remote, 41000, flags: Self.rst), at: 600 * second)
        feed(engine, try segment(local, 22, remote, 40000, flags: Self.rst, direction: .inbound), at: 601 * second)
        feed(engine, try segment(remote, 22, IPAddress("203.0.113.4")!, 40000, flags: Self.rst), at: 602 * second)
        XCTAssertEqual(events, [])
        XCTAssertEqual(UnfilteredAnswers.hostEphemeralPorts, 32768...60999)
    }

    /// In replay without `--local`, where addresses are learned from answers, a RST without
    /// ACK teaches none: only an address already known counts.
    func testAResetTeachesNoLocalAddress() throws {
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(), localAddresses: .learnedFromAnswers())
        feed(engine, try segment(local, 80, remote, 40000, flags: Self.rst), at: 0)
        feed(engine, tcp(remote, 40001, local, 81, .syn), at: 1000)
        feed(engine, tcp(local, 81, remote, 40001, [.rst, .ack]), at: 2000)
        feed(engine, try segment(local, 82, remote, 40000, flags: Self.rst), at: 3000)
        XCTAssertEqual(events.map(\.verdict), [.closed, .unfiltered])
        XCTAssertEqual(events.map(\.destinationPort), [81, 82])
    }

    func testFifteenUnfilteredPortsAreAPortscan() throws {
        let engine = makeEngine()
        for port in UInt16(1)...15 {
            feed(engine, try segment(local, port, remote, 40000, flags: Self.rst), at: UInt64(port) * 1000)
        }
        XCTAssertEqual(events.filter { $0.verdict == .unfiltered }.count, 15)
        let scans = events.filter { $0.verdict == .portscan }
        XCTAssertEqual(scans.count, 1)
        XCTAssertEqual(scans.first?.source, remote)
    }
}
