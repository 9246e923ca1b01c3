import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The stealth scans with the real nmap (issue 23, part 0): the daemon captures on the host
/// of a namespace lab while nmap scans 15 closed ports and one open one, and the store must
/// hold one event per probe and a portscan. The host's kernel answers as Linux does: RST-ACK
/// from a closed port to a FIN, NULL or Xmas probe, nothing from an open one; a RST without
/// ACK from open and closed ports alike to an ACK, Maimon or window probe.
final class StealthScanLiveTests: XCTestCase {
    static let closedPorts = 20...34
    static let openPort: UInt16 = 7000

    /// Runs `nmap <scanOption>` from the peer against the host's closed ports and its open
    /// one, and returns the events the daemon stored, with what nmap and the daemon printed.
    func scan(_ scanOption: String, file: StaticString = #filePath, line: UInt = #line) throws -> (events: [EventRecord], context: String) {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let listener = try Self.listen(in: lab, port: Self.openPort)
        defer { listener.terminate(); listener.waitUntilExit() }
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[detection]\nsyn_answer_timeout = 1s\n")
        defer { harness.cleanUp() }
        harness.waitForReady(file: file, line: line)
        // One real probe first: once the daemon has seen it and its answer, capture is live.
        try lab.probeHostTCP(ports: [19])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log, file: file, line: line)

        let ports = "\(Self.closedPorts.lowerBound)-\(Self.closedPorts.upperBound),\(Self.openPort)"
        let nmap = try lab.run(in: lab.peer, ["timeout", "40", "nmap", "-n", "-Pn", scanOption, "-p", ports, "--max-retries", "0",
                                              "--host-timeout", "30s", lab.hostIPv4])
        // Past the answer timeout, so the open port's probe has its verdict before shutdown.
        usleep(1_500_000)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log, file: file, line: line)
        let events = try EventStore(directory: harness.stateDirectory, readOnly: true).events(since: 0, limit: 10_000)
            .filter { $0.destinationPort != 19 }
        let listing = events.map { EventLine.text($0) }.joined(separator: "\n")
        return (events, "nmap \(scanOption):\n\(nmap.output)\nevents:\n\(listing)")
    }

    /// A listening socket on the host for the scan's open port, for as long as the test runs.
    static func listen(in lab: NamespaceLab, port: UInt16) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", lab.host, "timeout", "90", "python3", "-c",
                             "import socket, time\ns = socket.socket()\ns.bind(('0.0.0.0', \(port)))\ns.listen()\ntime.sleep(90)"]
        try process.run()
        // Until the socket listens: the host's kernel must see an open port from the first probe.
        for _ in 0..<50 where !(try lab.run(in: lab.host, ["ss", "-Htln", "sport = :\(port)"]).output.contains("\(port)")) {
            usleep(100_000)
        }
        return process
    }

    /// The FIN, NULL and Xmas scans: closed ports closed, the open port unanswered (open or
    /// filtered, as nmap itself says), and one portscan.
    func assertFinLikeScan(_ scanOption: String, flags: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (events, context) = try scan(scanOption, file: file, line: line)
        let probes = events.filter { $0.verdict == .closed || $0.verdict == .unanswered }
        let verdicts = Dictionary(probes.map { ($0.destinationPort ?? 0, $0.verdict) }, uniquingKeysWith: { first, _ in first })
        var expected = Dictionary(uniqueKeysWithValues: Self.closedPorts.map { (UInt16($0), Verdict.closed) })
        expected[Self.openPort] = .unanswered
        XCTAssertEqual(verdicts, expected, context, file: file, line: line)
        XCTAssertEqual(probes.count, expected.count, "one event per probe\n\(context)", file: file, line: line)
        XCTAssertEqual(Set(events.map(\.tcpFlags)), [flags], "every event names the probe's flags\n\(context)", file: file, line: line)
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.count, 1, context, file: file, line: line)
    }

    /// The ACK, Maimon and window scans: every port unfiltered, open or closed, and one portscan.
    func assertAckLikeScan(_ scanOption: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (events, context) = try scan(scanOption, file: file, line: line)
        let probes = events.filter { $0.verdict != .portscan }
        var expected = Set(Self.closedPorts.map { UInt16($0) })
        expected.insert(Self.openPort)
        XCTAssertEqual(Set(probes.compactMap(\.destinationPort)), expected, context, file: file, line: line)
        XCTAssertEqual(probes.map(\.verdict), Array(repeating: .unfiltered, count: expected.count), "one event per probe\n\(context)",
                       file: file, line: line)
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.count, 1, context, file: file, line: line)
        XCTAssertEqual(events.filter { $0.tcpFlags != nil }, [], "the probe is not seen, nor its flags\n\(context)", file: file, line: line)
    }

    func testFinScanGivesEventsAndAPortscan() throws { try assertFinLikeScan("-sF", flags: "F") }
    func testNullScanGivesEventsAndAPortscan() throws { try assertFinLikeScan("-sN", flags: "") }
    func testXmasScanGivesEventsAndAPortscan() throws { try assertFinLikeScan("-sX", flags: "FPU") }
    func testAckScanGivesUnfilteredEventsAndAPortscan() throws { try assertAckLikeScan("-sA") }
    func testMaimonScanGivesUnfilteredEventsAndAPortscan() throws { try assertAckLikeScan("-sM") }
    func testWindowScanGivesUnfilteredEventsAndAPortscan() throws { try assertAckLikeScan("-sW") }
}
