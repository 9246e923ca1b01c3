import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The telescope end to end: a real `nmap -sS` from the peer namespace against the host
/// namespace, where one port is open, with the daemon capturing on the host's veth.
final class LiveDetectionTests: XCTestCase {
    func testNmapSynScanYieldsClosedEventsAndAPortscanButNothingForTheOpenPort() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let openPort = 8080
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        listener.arguments = ["ip", "netns", "exec", lab.host, "python3", "-c",
                              "import socket,time\ns=socket.socket()\ns.bind(('\(lab.hostIPv4)',\(openPort)))\ns.listen(64)\ntime.sleep(60)"]
        try listener.run()
        defer { listener.terminate(); listener.waitUntilExit() }
        let listening = Date().addingTimeInterval(5)
        while try lab.run(in: lab.host, ["ss", "-ltnH", "sport = :\(openPort)"]).output.isEmpty, Date() < listening { usleep(50_000) }

        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[detection]\nsyn_answer_timeout = 1s\n")
        defer { harness.cleanUp() }
        harness.waitForReady()

        let ports = "20-40,\(openPort)"
        let scan = try lab.run(in: lab.peer, ["nmap", "-n", "-Pn", "-sS", "-p", ports, "--max-retries", "0", "--host-timeout", "20s", lab.hostIPv4])
        XCTAssertTrue(scan.output.contains("\(openPort)/tcp open"), scan.output)

        // Events are flushed on stop at the latest.
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        // Every event reached the local store, committed before the exit.
        let events = try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n")
        let closed = events.filter { $0.source == lab.peerIPv4 && $0.destination == lab.hostIPv4 && $0.verdict == .closed }
        XCTAssertEqual(Set(closed.compactMap(\.destinationPort)), Set((20...40).map { UInt16($0) }), listing)
        XCTAssertEqual(closed.count, 21, listing)
        XCTAssertFalse(events.contains { $0.destinationPort == UInt16(openPort) }, "the open port must get no event:\n\(listing)")
        XCTAssertEqual(events.filter { $0.verdict == .portscan && $0.source == lab.peerIPv4 }.map(\.ports), [15], listing)
        // And one greppable line per event reached the log (the journal's stand-in outside systemd).
        XCTAssertTrue(harness.daemon.log.contains("unwanted tcp \(lab.peerIPv4):"), harness.daemon.log)
    }
}
