import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// Backscatter on real veths. An attacker in a third namespace, behind the peer, floods the
/// peer (the victim) with hping3, forging the monitored host's address as the source: the
/// victim's SYN-ACKs, RSTs and ICMP errors go to the host, which never sent anything. And the
/// host's own late answers (curl, nc, a delayed server, a reset) must never count.
final class BackscatterLiveTests: XCTestCase {
    private let victim = "10.9.0.1"
    private let udpVictim = "10.9.0.5"

    /// The lab plus an attacker namespace joined to the peer, which routes for it.
    private func makeAttacker(_ lab: NamespaceLab) throws -> String {
        let attacker = "lsT-atk-\(getpid() % 100000)-\(UInt16.random(in: 0...UInt16.max))"
        try shell(["ip", "netns", "add", attacker])
        try lab.run(in: lab.peer, ["ip", "link", "add", "lsa0", "type", "veth", "peer", "name", "lsa1", "netns", attacker])
        try lab.run(in: lab.peer, ["ip", "addr", "add", "\(victim)/24", "dev", "lsa0"])
        try lab.run(in: lab.peer, ["ip", "addr", "add", "\(udpVictim)/24", "dev", "lsa0"])
        try lab.run(in: lab.peer, ["ip", "link", "set", "lsa0", "up"])
        // The forged source (the host) is routed the other way: no reverse-path check may drop it.
        for key in ["all", "default", "lsa0"] {
            try lab.run(in: lab.peer, ["sysctl", "-qw", "net.ipv4.conf.\(key).rp_filter=0"])
        }
        try lab.run(in: attacker, ["ip", "link", "set", "lo", "up"])
        try lab.run(in: attacker, ["ip", "addr", "add", "10.9.0.2/24", "dev", "lsa1"])
        try lab.run(in: attacker, ["ip", "link", "set", "lsa1", "up"])
        try lab.run(in: attacker, ["ip", "route", "add", "default", "via", victim])
        return attacker
    }

    /// A TCP server in `namespace` for at most `seconds`; with `reset`, it resets each connection
    /// it accepts a moment later (SO_LINGER 0), as a server closing on a client does.
    private func startServer(_ lab: NamespaceLab, in namespace: String, port: Int, reset: Bool = false, seconds: Int = 25) throws -> Process {
        let script = """
        import socket, struct, sys, time
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(64); s.settimeout(1)
        end = time.time() + int(sys.argv[2])
        while time.time() < end:
            try:
                c, _ = s.accept()
            except OSError:
                continue
            if sys.argv[3] == 'reset':
                time.sleep(0.3)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            c.close()
        """
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["ip", "netns", "exec", namespace, "/usr/bin/python3", "-c", script, String(port), String(seconds),
                            reset ? "reset" : "keep"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        for _ in 0..<50 {
            if try lab.run(in: namespace, ["ss", "-ltnH", "sport = :\(port)"]).output.contains("LISTEN") { return server }
            usleep(100_000)
        }
        server.terminate()
        throw TestFailure("the server on port \(port) did not start")
    }

    private func startDaemon(_ lab: NamespaceLab) throws -> DaemonHarness {
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[detection]\nsyn_answer_timeout = 1s\n")
        harness.waitForReady()
        // A real probe first, so that capture is live for what follows (a new veth loses its first frames).
        try lab.probeHostTCP(ports: [4007])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)
        return harness
    }

    private func eventsAfterStop(_ harness: DaemonHarness) throws -> [EventRecord] {
        usleep(300_000)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        return try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
    }

    func testSpoofedFloodsOfAThirdPartyAreBackscatterOneEventPerVictim() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let attacker = try makeAttacker(lab)
        defer { _ = try? shell(["ip", "netns", "del", attacker], allowFailure: true) }
        let harness = try startDaemon(lab)
        defer { harness.cleanUp() }
        let server = try startServer(lab, in: lab.peer, port: 8080)
        defer { server.terminate() }

        // SYN floods of an open port (SYN-ACKs back) and a closed one (RSTs back), and a UDP
        // flood of a closed port (ICMP port unreachable back), all "from" the host.
        let hping = ["timeout", "20", "hping3", "-q", "-a", lab.hostIPv4, "-i", "u20000"]
        try lab.run(in: attacker, hping + ["-S", "-p", "8080", "-c", "25", victim], allowFailure: true)
        try lab.run(in: attacker, hping + ["-S", "-p", "9", "-c", "25", victim], allowFailure: true)
        try lab.run(in: attacker, hping + ["--udp", "-p", "9", "-c", "5", udpVictim], allowFailure: true)

        let events = try eventsAfterStop(harness)
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n")
        let backscatter = events.filter { $0.verdict == .backscatter }
        XCTAssertEqual(backscatter.map(\.source).sorted(), [victim, udpVictim], "one event per victim:\n\(listing)")
        let tcp = backscatter.first { $0.source == victim }
        XCTAssertEqual(tcp?.answer, .synAck, "the first answer was the open port's:\n\(listing)")
        XCTAssertGreaterThanOrEqual(tcp?.packets ?? 0, 50, "every SYN-ACK and RST counted in it:\n\(listing)")
        XCTAssertEqual(tcp?.destination, lab.hostIPv4)
        XCTAssertNil(tcp?.sourcePort, "the victim answered from two ports")
        let udp = backscatter.first { $0.source == udpVictim }
        XCTAssertEqual(udp?.answer, .icmpUnreachable, listing)
        XCTAssertEqual(udp?.proto, .udp, listing)
        XCTAssertEqual(udp?.sourcePort, 9, listing)
        XCTAssertEqual(events.filter { [victim, udpVictim].contains($0.source) }.count, 2, "nothing else from the victims:\n\(listing)")
    }

    func testLateAnswersToTheHostsOwnTrafficAreNotBackscatter() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try startDaemon(lab)
        defer { harness.cleanUp() }
        let servers = [try startServer(lab, in: lab.peer, port: 8081), try startServer(lab, in: lab.peer, port: 8082, reset: true)]
        defer { servers.forEach { $0.terminate() } }
        // The peer answers late: its firewall drops the first two of every three SYNs, so the
        // SYN-ACK or RST answers the host's second retransmission, three seconds on.
        try lab.run(in: lab.peer, ["nft", "add table inet late; add chain inet late input { type filter hook input priority 0; }; "
            + "add rule inet late input tcp flags & (syn | ack) == syn numgen inc mod 3 != 2 drop"])

        let peer = lab.peerIPv4
        // Closed port (a late RST), open port (a late SYN-ACK), a server that resets the connection.
        try lab.run(in: lab.host, ["curl", "-s", "--max-time", "4", "http://\(peer):9/"], allowFailure: true)
        try lab.run(in: lab.host, ["curl", "-s", "--max-time", "4", "http://\(peer):8081/"], allowFailure: true)
        try lab.run(in: lab.host, ["curl", "-s", "--max-time", "4", "http://\(peer):8082/"], allowFailure: true)
        try lab.run(in: lab.host, ["nc", "-z", "-w", "4", peer, "10"], allowFailure: true)
        // UDP to a closed port: a late ICMP port unreachable.
        try lab.run(in: lab.host, ["sh", "-c", "echo x | nc -u -w 3 \(peer) 9"], allowFailure: true)
        try lab.run(in: lab.host, ["sh", "-c", "echo x | nc -u -w 3 \(lab.peerIPv6) 9"], allowFailure: true)
        sleep(2)

        let events = try eventsAfterStop(harness)
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n")
        XCTAssertEqual(events.filter { $0.verdict == .backscatter }, [], "answers to the host's own traffic:\n\(listing)")
        XCTAssertTrue(events.contains { $0.destinationPort == 4007 }, "the capture saw the peer's probe:\n\(listing)")
    }
}
