import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The slow scan live: the daemon captures on the host of a namespace lab while the real
/// nmap scans it with two seconds between probes. With the windows and thresholds shrunk
/// to fit a test (a port scan is 5 ports in 3 s, a slow scan 8 ports in a minute), the
/// scan is too slow for a `portscan` and makes one `slowscan`.
final class SlowScanLiveTests: XCTestCase {
    func testNmapWithAScanDelayIsASlowScanAndNoPortscan() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let config = """
            [watchdog]
            status_interval = 200ms
            [detection]
            syn_answer_timeout = 1s
            portscan_ports = 5
            portscan_window = 3s
            slowscan_ports = 8
            slowscan_window = 1m

            """
        let harness = try DaemonHarness(lab: lab, config: config)
        defer { harness.cleanUp() }
        harness.waitForReady()
        // One real probe first (a failure of the same source, on a port of its own): once the
        // daemon has seen it and its answer, capture is live.
        try lab.probeHostTCP(ports: [19])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)

        let started = Date()
        let output = try lab.run(in: lab.peer, ["timeout", "60", "nmap", "-4", "-sS", "-Pn", "-n", "-p", "2001-2012", "--max-retries", "0",
                                                "--scan-delay", "2s", lab.hostIPv4]).output
        let seconds = Date().timeIntervalSince(started)
        usleep(500_000)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)

        let events = try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
        let listing = events.map { EventJSON.encode($0) }.joined(separator: "\n")
        let scan = events.filter { $0.verdict == .closed && $0.destinationPort.map { (2001...2012).contains($0) } ?? false }
        // nmap may probe a port twice (a new source port), even with --max-retries 0.
        XCTAssertEqual(Set(scan.compactMap(\.destinationPort)), Set(2001...2012), "each port refused:\n\(listing)\n\(output)")
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.count, 0, "too slow for a portscan:\n\(listing)")
        let slow = events.filter { $0.verdict == .slowscan }
        XCTAssertEqual(slow.count, 1, "one slowscan:\n\(listing)")
        XCTAssertEqual(slow.first?.source, lab.peerIPv4)
        XCTAssertEqual(slow.first?.destination, lab.hostIPv4)
        XCTAssertGreaterThanOrEqual(slow.first?.ports ?? 0, 8)
        XCTAssertEqual(slow.first?.tool, .nmap)
        XCTAssertTrue(harness.daemon.log.contains(" slowscan ("), harness.daemon.log)
        XCTAssertGreaterThan(seconds, 16, "nmap waited between probes")
        print("nmap took \(Int(seconds)) s; \(slow.first.map(EventJSON.encode) ?? "no slowscan")")
    }
}
