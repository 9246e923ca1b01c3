import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// A closed-port flood bounded in count, through the real daemon on a veth pair: every probe
/// is stored, folded into an aggregate event or counted lost, as `lightscope status --json`
/// and the stop line say (docs/store.md, "Aggregation"). The event queue is made small
/// (1,024 events, a test-only knob) so that 200,000 probes pass its mark for sure.
final class AggregationLiveTests: XCTestCase {
    static let sources = 8
    static let probesPerSource = 25_000

    func testAClosedPortFloodIsEveryProbeAccountedEndToEnd() throws {
        guard try shell(["sh", "-c", "command -v hping3"], allowFailure: true).status == 0 else {
            throw TestFailure("hping3 is not installed: run scripts/install-deps.sh")
        }
        try flood(sent: UInt64(Self.sources * Self.probesPerSource)) { lab in
            // Eight sources of one /24, each 25,000 SYNs to the closed port 23 from successive ports.
            for source in 1...Self.sources {
                try lab.run(in: lab.peer, ["hping3", "-q", "-a", "198.51.100.\(source)", "-S", "-p", "23", "-i", "u1",
                                           "-c", String(Self.probesPerSource), lab.hostIPv4], allowFailure: true)
            }
        }
    }

    /// SYNs from random 10.0.0.0/8 sources to random ports of a host whose firewall drops them
    /// (trafgen, bench/livecost.sh's probe stream): every probe waits out syn_answer_timeout,
    /// and all expire together, each its own aggregate (port x /24 x minute). Main lost most of
    /// them under `aggregation` once its 16,384 open aggregates were full; flood blocks hold them.
    func testARandomSourceRandomPortFloodIsEveryProbeAccountedEndToEnd() throws {
        guard try shell(["sh", "-c", "command -v trafgen"], allowFailure: true).status == 0 else {
            throw TestFailure("trafgen (netsniff-ng) is not installed: run scripts/install-deps.sh")
        }
        let probes = 300_000
        try flood(sent: UInt64(probes), verdict: "unanswered") { lab in
            try lab.run(in: lab.host, ["nft", "add table inet lsflood; add chain inet lsflood in { type filter hook input priority 0; }; add rule inet lsflood in tcp flags syn drop"])
            let config = NSTemporaryDirectory() + "lightscope-flood-\(getpid()).trafgen"
            defer { try? FileManager.default.removeItem(atPath: config) }
            try """
                { eth(da=\(try lab.hostMACText())), ipv4(sa=10.0.0.0, sa[1]=drnd(), sa[2]=drnd(), sa[3]=drnd(), da=\(lab.hostIPv4), ttl=50), \
                tcp(sp=drnd(1024, 65535), dp=drnd(1024, 65535), seq=drnd(), syn) }
                """.write(toFile: config, atomically: true, encoding: .utf8)
            try lab.run(in: lab.peer, ["trafgen", "-o", lab.peerInterface, "-c", config, "-n", String(probes), "--cpus", "1", "-Q", "-t", "15us"])
        }
    }

    /// An ordinary scan of a host, the real nmap's 1,000 most common ports at -T4 (well under
    /// a second here), with the daemon's own queue: below the aggregation rate's burst
    /// (`EventRateBucket.burst`), so every closed port stays its own event, none aggregated.
    func testAnNmapScanOfAThousandPortsKeepsEveryEventItsOwnRow() throws {
        guard try shell(["sh", "-c", "command -v nmap"], allowFailure: true).status == 0 else {
            throw TestFailure("nmap is not installed: run scripts/install-deps.sh")
        }
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        // One probe first: once the daemon has seen it and its answer, capture is live.
        try lab.probeHostTCP(ports: [1])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)
        let scan = try lab.run(in: lab.peer, ["timeout", "60", "nmap", "-n", "-Pn", "-sS", "-T4", "--top-ports", "1000", lab.hostIPv4])
        XCTAssertTrue(scan.output.contains("1000 closed"), scan.output)
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 30), 0, harness.daemon.log)
        let store = try EventStore(directory: harness.stateDirectory, readOnly: true)
        let events = try store.events(since: 0, limit: 10_000)
        XCTAssertEqual(events.filter { $0.aggregated != nil }.count, 0, "aggregated below the rate")
        let closed = events.filter { $0.verdict == .closed && $0.source == lab.peerIPv4 }
        // nmap's 1,000 ports, and the first probe's (port 1 is among nmap's, too).
        XCTAssertGreaterThanOrEqual(Set(closed.compactMap(\.destinationPort)).count, 1_000, "\(closed.count) closed events")
        XCTAssertTrue(events.contains { $0.verdict == .portscan }, "the scan's portscan event")
    }

    /// A scan far above the rate's burst (the real nmap, 8,000 closed ports in well under a
    /// second): what the rate folds reaches the journal (stderr here) one line per aggregate,
    /// as far as the journal's budget admits (raised here to let every line through).
    func testAFloodBlocksAggregatesReachTheJournalOneLineEach() throws {
        guard try shell(["sh", "-c", "command -v nmap"], allowFailure: true).status == 0 else {
            throw TestFailure("nmap is not installed: run scripts/install-deps.sh")
        }
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[store]\njournal_events_per_second = 100000\n")
        defer { harness.cleanUp() }
        harness.waitForReady()
        try lab.probeHostTCP(ports: [1])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) {
            ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= 2
        }.match, harness.daemon.log)
        _ = try lab.run(in: lab.peer, ["timeout", "60", "nmap", "-n", "-Pn", "-sS", "-T5", "-p", "1-8000", lab.hostIPv4])
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 30), 0, harness.daemon.log)
        let log = harness.daemon.log
        let stopLine = String(log.split(separator: "\n").first { $0.contains("Stopped cleanly") } ?? "")
        let aggregated = try XCTUnwrap(stopLine.firstMatch(of: /events stored and (\d+) aggregated/).flatMap { Int($0.1) }, stopLine)
        print("nmap of 8,000 closed ports: \(stopLine)")
        XCTAssertGreaterThan(aggregated, 0, stopLine)
        // Each port its own aggregate of one probe: one line each.
        XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("(aggregated 1,") }.count, aggregated, stopLine)
    }

    /// Runs the daemon with a 1,024-event queue, lets `send` flood it from the peer, and checks
    /// that every probe sent is stored, aggregated or counted lost, and none lost.
    private func flood(sent: UInt64, verdict: String = "closed", send: (NamespaceLab) throws -> Void) throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        // The host answers the spoofed sources' SYNs with RSTs through the peer, which drops them.
        try lab.run(in: lab.host, ["ip", "route", "add", "default", "via", lab.peerIPv4])
        let harness = try DaemonHarness(lab: lab, faultInjection: true, environment: ["LIGHTSCOPE_TEST_EVENT_QUEUE": "1024"])
        defer { harness.cleanUp() }
        harness.waitForReady()
        try send(lab)

        // Settled: the writer has taken every judged event (the open aggregates wait for stop).
        var daemon: DaemonSnapshot?
        let deadline = Date().addingTimeInterval(30)
        var previous: UInt64 = 0
        while Date() < deadline {
            usleep(1_000_000)
            let json = try lightscope(["status", "--json", "--state-dir", harness.stateDirectory])
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            daemon = try decoder.decode(StatusReport.self, from: Data(json.utf8)).daemon
            let judged = daemon?.events.byVerdict[verdict] ?? 0
            if judged > 0 && judged == previous { break }
            previous = judged
        }
        let status = try XCTUnwrap(daemon)
        let store = try XCTUnwrap(status.store)
        let judged = status.events.byVerdict[verdict] ?? 0
        let dropped = status.interfaces.reduce(0) { $0 + $1.drops }
        XCTAssertEqual(status.lostEvents.values.reduce(0, +), 0, "\(status.lostEvents)")
        // An aggregate counts once it is committed: when its minute closes or at the stop. The
        // flood may fit in one minute, so only the stop line must show aggregated events.
        XCTAssertLessThanOrEqual(store.eventsWritten + (store.aggregated ?? 0), judged)

        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 30), 0, harness.daemon.log)
        let stopLine = String(harness.daemon.log.split(separator: "\n").first { $0.contains("Stopped cleanly") } ?? "")
        func figure(_ pattern: String) -> UInt64? {
            guard let match = stopLine.firstMatch(of: try! Regex<(Substring, Substring)>(pattern)) else { return nil }
            return UInt64(match.1)
        }
        let stored = try XCTUnwrap(figure(#"(\d+) events stored"#), stopLine)
        let aggregated = try XCTUnwrap(figure(#"events stored and (\d+) aggregated"#), stopLine)
        let lost = figure(#"events lost: (\d+)"#) ?? 0
        print("\(verdict) flood: sent \(sent), dropped \(dropped), judged \(judged), stored \(stored), aggregated \(aggregated), lost \(lost); \(stopLine)")
        XCTAssertEqual(lost, 0, stopLine)
        XCTAssertEqual(stored + aggregated + lost, judged, stopLine)
        if dropped == 0 {
            XCTAssertEqual(judged, sent, "every SYN a \(verdict) event: \(stopLine)")
        }
        XCTAssertGreaterThan(aggregated, 0, "the flood never passed the mark: \(stopLine)")
        // The store counts every judged probe, a flood block's aggregates included.
        let eventStore = try EventStore(directory: harness.stateDirectory, readOnly: true)
        XCTAssertEqual(try eventStore.countsByVerdict(since: 0)[try XCTUnwrap(Verdict(rawValue: verdict))], Int(judged))
        if verdict == "unanswered" {
            // Every probe its own aggregate: main wrote a row for each (300,000 rows here);
            // flood blocks write one per up to 1,024.
            XCTAssertLessThan(try eventStore.count(), Int(stored + aggregated / 100), "one row per block of aggregates")
        }
    }

    private func lightscope(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonProcess.binaryPath)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["RUNTIME_DIRECTORY"] = nil
        environment["STATE_DIRECTORY"] = nil
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
