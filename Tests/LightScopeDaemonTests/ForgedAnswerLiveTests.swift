import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// Forged answers on a real veth (issue 17, item 5): the peer sends RSTs, SYN-ACKs and an ICMP
/// port unreachable that claim to come from the host's own address. They arrive inbound, so
/// the capture's direction (the kernel's packet type, read by the capture filter) says they
/// are not the host's answers, whatever their addresses claim.
///
/// The probes they would answer carry a zero IP checksum, so the host's stack drops them
/// unanswered while the capture, which sees them first, tracks them: their honest verdict
/// is `unanswered`.
final class ForgedAnswerLiveTests: XCTestCase {
    private typealias P = PacketBuilder

    func testAnswersForgedFromTheHostsAddressAreNotTheHosts() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try startCapturing(lab)
        defer { harness.cleanUp() }
        let (host, peer, host6, peer6) = (lab.hostIPv4, lab.peerIPv4, lab.hostIPv6, lab.peerIPv6)
        let tcp4 = Self.tcp4
        let syn: UInt8 = 0x02, synAck: UInt8 = 0x12, rstAck: UInt8 = 0x14
        let udpProbe = P.ipv4(peer, host, protocolNumber: 17, P.udp(5353, 161))
        try lab.sendFrames(fromPeer: [
            // A probe of 4001, then a RST "from" the host closing it.
            tcp4(peer, 40001, host, 4001, syn),
            tcp4(host, 4001, peer, 40001, rstAck),
            // A probe of 4002, then a SYN-ACK "from" the host taking it.
            tcp4(peer, 40002, host, 4002, syn),
            tcp4(host, 4002, peer, 40002, synAck),
            // A SYN-ACK "from" port 4005 first, then a probe of it: the port must not count as open.
            tcp4(host, 4005, peer, 33333, synAck),
            tcp4(peer, 40005, host, 4005, syn),
            // The same RST trick over IPv6.
            P.ethernet(P.etherTypeIPv6, P.ipv6(peer6, host6, nextHeader: 6, P.tcp(40006, 4006, flags: syn))),
            P.ethernet(P.etherTypeIPv6, P.ipv6(host6, peer6, nextHeader: 6, P.tcp(4006, 40006, flags: rstAck))),
            // A port unreachable "from" the host, quoting a UDP probe of it that never was.
            P.ethernet(P.etherTypeIPv4, P.ipv4(host, peer, protocolNumber: 1, P.icmpUnreachable(code: 3, quoting: udpProbe))),
        ])

        let events = try eventsAfterStop(harness)
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n")
        let verdicts = Dictionary(events.filter { $0.verdict != .portscan }.map { ($0.destinationPort ?? 0, $0.verdict) },
                                  uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(verdicts[4001], .unanswered, "a forged RST closed the probe:\n\(listing)")
        XCTAssertEqual(verdicts[4002], .unanswered, "a forged SYN-ACK took the probe:\n\(listing)")
        XCTAssertEqual(verdicts[4005], .unanswered, "a forged SYN-ACK marked the port open:\n\(listing)")
        XCTAssertEqual(verdicts[4006], .unanswered, "a forged IPv6 RST closed the probe:\n\(listing)")
        XCTAssertNil(verdicts[161], "a forged ICMP error made a UDP event:\n\(listing)")
        XCTAssertEqual(verdicts[4007], .closed, "the host's own RST must still count:\n\(listing)")
    }

    /// The filter keeps inbound answers that claim one of the host's addresses out; an address
    /// the host gains while the daemon runs must join that list (`CaptureLoop.refilter`), or
    /// answers forged to claim it reach detection as the host's own and steer its verdicts.
    func testAnswersForgedFromAnAddressGainedLaterAreNotTheHosts() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try startCapturing(lab, config: "[capture]\ninterface_rescan_interval = 200ms\n")
        defer { harness.cleanUp() }
        let gained = "192.0.2.60"
        try lab.run(in: lab.host, ["ip", "addr", "add", "\(gained)/24", "dev", lab.hostInterface])
        // Several rescans: the daemon reads the addresses, its loops take them at their next wake-up.
        usleep(1_000_000)
        // A real probe of the new address, closed by the host's own RST: the daemon knows the
        // address before the forgeries come.
        try lab.probeHostTCP(ports: [4017], address: gained)
        let (peer, tcp4) = (lab.peerIPv4, Self.tcp4)
        try lab.sendFrames(fromPeer: [
            tcp4(peer, 40011, gained, 4011, 0x02), tcp4(gained, 4011, peer, 40011, 0x14),
            tcp4(peer, 40012, gained, 4012, 0x02), tcp4(gained, 4012, peer, 40012, 0x12),
        ])

        let events = try eventsAfterStop(harness)
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n") + "\n" + harness.daemon.log
        let verdicts = Dictionary(events.filter { $0.destination == gained && $0.verdict != .portscan }
            .map { ($0.destinationPort ?? 0, $0.verdict) }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(verdicts[4017], .closed, "the host's own RST from its new address must count:\n\(listing)")
        XCTAssertEqual(verdicts[4011], .unanswered, "a RST forged from the new address closed the probe:\n\(listing)")
        XCTAssertEqual(verdicts[4012], .unanswered, "a SYN-ACK forged from the new address took the probe:\n\(listing)")
    }

    /// The daemon on the lab's host with `config` added, once capture is live: a real probe
    /// first, answered by the host's own RST (outbound), which must stay `closed`. Once the
    /// daemon has seen it and its answer, capture is live for the frames a test sends (a veth
    /// just brought up loses the first ones).
    private func startCapturing(_ lab: NamespaceLab, config: String = "") throws -> DaemonHarness {
        let harness = try DaemonHarness(lab: lab, config: config
            + "[watchdog]\nstatus_interval = 200ms\n[detection]\nsyn_answer_timeout = 1s\n")
        harness.waitForReady()
        do { try lab.probeHostTCP(ports: [4007]) } catch { harness.cleanUp(); throw error }
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)
        return harness
    }

    /// An Ethernet frame of an IPv4 TCP segment with `flags` (its IP checksum zero).
    private static func tcp4(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16,
                             _ flags: UInt8) -> [UInt8] {
        P.ethernet(P.etherTypeIPv4, P.ipv4(source, destination, protocolNumber: 6, P.tcp(sourcePort, destinationPort, flags: flags)))
    }

    private func eventsAfterStop(_ harness: DaemonHarness) throws -> [EventRecord] {
        // The kernel hands a ring block over within the read timeout; a stop drains it.
        usleep(300_000)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        return try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
    }
}
