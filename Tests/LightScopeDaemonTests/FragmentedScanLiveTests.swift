import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// Fragmented SYNs on a real veth (issue 17, item 12): the real `nmap -f` (8 bytes of TCP
/// header per fragment, so the flags are in the second) and `nmap -ff` (16), and, since nmap
/// does not fragment over IPv6, IPv6 SYNs split the same way by hand. The host's kernel puts
/// each together and refuses it with a RST; the daemon must see the probe it refused.
final class FragmentedScanLiveTests: XCTestCase {
    private typealias P = PacketBuilder

    func testFragmentedSynScansAreSeenAsTheHostSeesThem() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[detection]\nsyn_answer_timeout = 1s\n")
        defer { harness.cleanUp() }
        harness.waitForReady()
        // One real probe first: once the daemon has seen it and its answer, capture is live.
        try lab.probeHostTCP(ports: [19])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)

        var scans = ""
        for (option, ports) in [("-f", "20-24"), ("-ff", "30-34")] {
            let scan = try lab.run(in: lab.peer, ["timeout", "30", "nmap", "-n", "-Pn", "-sS", option, "-p", ports, "--max-retries", "0",
                                                  "--host-timeout", "20s", lab.hostIPv4])
            scans += scan.output
            XCTAssertEqual(scan.output.components(separatedBy: "/tcp closed").count - 1, 5, "nmap \(option):\n\(scan.output)")
        }
        // IPv6, checksummed so the host answers. Linux refuses a first fragment without the
        // whole 20-byte TCP header (RFC 7112, with an ICMPv6 parameter problem): split after
        // 24 bytes, the options are in the second fragment; split after 8, the probe is seen
        // and unanswered.
        // A whole IPv6 probe first: the host learns the peer's link address from it, so its
        // RST to the first fragmented probe does not wait on neighbour discovery past the stop.
        try lab.probeHostTCP(ports: [39], address: lab.hostIPv6)
        for (port, pieceBytes) in [(UInt16(40), 24), (41, 24), (42, 8)] {
            let syn = P.checksummed(P.tcp(45000, port, sequence: 77, flags: 0x02, options: P.linuxSYNOptionBytes),
                                    source: lab.peerIPv6, destination: lab.hostIPv6)
            try lab.sendFrames(fromPeer: P.fragmented(syn, pieceBytes: pieceBytes, ipv6: true, source: lab.peerIPv6,
                                                      destination: lab.hostIPv6, identification: 900 + UInt32(port)))
        }

        usleep(1_000_000)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        let events = try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n")
        let closed = Set(events.filter { $0.verdict == .closed }.compactMap(\.destinationPort))
        XCTAssertEqual(closed.intersection(Set(20...24)), Set(20...24), "nmap -f went unseen:\n\(listing)\n\(scans)")
        XCTAssertEqual(closed.intersection(Set(30...34)), Set(30...34), "nmap -ff went unseen:\n\(listing)")
        let verdictsV6 = Dictionary(events.filter { $0.destination == lab.hostIPv6 && $0.verdict != .portscan }
            .map { ($0.destinationPort ?? 0, $0.verdict) }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(verdictsV6, [39: .closed, 40: .closed, 41: .closed, 42: .unanswered], "fragmented IPv6 SYNs:\n\(listing)")
        // The fingerprint is the whole header's, put together from its pieces.
        XCTAssertTrue(events.contains { $0.destinationPort == 40 && $0.tcpOptions == "M1460,S,T,N,W7" }, listing)
        XCTAssertTrue(harness.daemon.log.contains("unwanted tcp \(lab.peerIPv4):"), harness.daemon.log)
    }
}
