import Foundation
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
        let lines = harness.daemon.log.split(separator: "\n").filter { $0.contains("unwanted ") }
        let closed = lines.filter { $0.contains("\(lab.peerIPv4) -> \(lab.hostIPv4):") && $0.contains(" closed ") }
        XCTAssertEqual(closed.count, 21, lines.joined(separator: "\n"))
        for port in 20...40 {
            XCTAssertTrue(closed.contains { $0.contains("\(lab.hostIPv4):\(port) closed") }, "no closed event for port \(port)")
        }
        XCTAssertFalse(lines.contains { $0.contains(":\(openPort) ") }, "the open port must get no event:\n\(lines.joined(separator: "\n"))")
        XCTAssertEqual(lines.filter { $0.contains(" portscan ") && $0.contains(lab.peerIPv4) }.count, 1, lines.joined(separator: "\n"))
    }
}
