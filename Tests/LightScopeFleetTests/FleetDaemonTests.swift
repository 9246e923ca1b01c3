import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The real daemon ships through a veth to a PostgreSQL in the peer namespace (192.0.2.2), over
/// TLS with verify-full and SCRAM: end to end with nmap, SIGKILL at random points, the worst
/// point by fault injection, and a black-holed collector.
final class FleetDaemonTests: XCTestCase {
    var lab: NamespaceLab!
    var fixture: FleetFixture!

    override func setUpWithError() throws {
        lab = try NamespaceLab()
        fixture = try FleetFixture(server: PostgresServer(listenAddress: lab.peerIPv4, namespace: lab.peer))
    }

    override func tearDown() {
        fixture?.cleanUp()
        lab?.destroy()
    }

    /// Starts the daemon in the host namespace with `[fleet]` pointing at the collector.
    private func startDaemon(batchEvents: Int = 1000, environment extra: [String: String] = [:]) throws -> (DaemonProcess, NotifyListener) {
        let passwordFile = fixture.stateDirectory + "/fleet-password"
        if !FileManager.default.fileExists(atPath: passwordFile) {
            try fixture.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
            chmod(passwordFile, 0o600)
        }
        let config = fixture.stateDirectory + "/lightscope.conf"
        try """
            [watchdog]
            status_interval = 200ms
            [fleet]
            url = \(fixture.server.tlsURL(role: fixture.role))
            password_file = \(passwordFile)
            host_name = web1
            batch_events = \(batchEvents)
            interval = 1s
            connect_timeout = 3s
            statement_timeout = 5s
            network_timeout = 2s
            retry_max_interval = 2s
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let listener = try NotifyListener(kind: .path)
        var environment = ["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "2000000", HostID.overrideVariable: fixture.hostID.description]
        environment.merge(extra) { $1 }
        let daemon = try DaemonProcess(arguments: ["run", "--config", config, "--state-dir", fixture.stateDirectory, "--interface", lab.hostInterface],
                                       namespace: lab.host, environment: environment)
        return (daemon, listener)
    }

    private func waitForCollector(toMatchStore timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let local = try? fixture.localIDs(), !local.isEmpty, (try? fixture.collectorIDs()) == local { return true }
            usleep(200_000)
        }
        return false
    }

    func testNmapEventsReachTheCollectorWithThisHostsIdAndFields() throws {
        let (daemon, listener) = try startDaemon()
        XCTAssertNotNil(listener.wait(timeout: 10) { $0.has("READY", "1") }.match, daemon.log)
        try lab.run(in: lab.peer, ["timeout", "30", "nmap", "-sS", "-n", "-Pn", "-T4", "--max-retries", "0", "-p", "1-120", lab.hostIPv4])
        XCTAssertTrue(waitForCollector(toMatchStore: 30), "store \((try? fixture.localIDs().count) ?? -1), collector \(fixture.collectorCount())\n\(daemon.log)")
        XCTAssertEqual(try fixture.server.query("SELECT DISTINCT host_id FROM lightscope.events"), fixture.hostID.description)
        XCTAssertEqual(try fixture.server.query("SELECT count(*) > 0 FROM lightscope.events WHERE verdict = 'portscan' AND src = '\(lab.peerIPv4)' AND dst = '\(lab.hostIPv4)' AND interface = '\(lab.hostInterface)' AND ports >= 15"), "t")
        XCTAssertEqual(try fixture.server.query("SELECT count(*) > 0 FROM lightscope.events WHERE verdict = 'closed' AND proto = 'tcp' AND dport BETWEEN 1 AND 120 AND ttl > 0"), "t")
        XCTAssertEqual(try fixture.server.query("SELECT DISTINCT tool FROM lightscope.events WHERE verdict = 'closed'"), "nmap",
                       "the real nmap's probes arrive tagged")
        let store = try EventStore(path: fixture.databasePath, readOnly: true)
        XCTAssertEqual(try fixture.server.query("SELECT DISTINCT store_id FROM lightscope.events"), String(Int64(bitPattern: try store.storeID())))
        XCTAssertEqual(try fixture.server.query("SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = '\(fixture.role)'"), "t")
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.log)
    }

    func testAWrongPasswordIsOneClearLineAndNoRestartLoop() throws {
        try "not-the-password".write(toFile: fixture.stateDirectory + "/fleet-password", atomically: true, encoding: .utf8)
        chmod(fixture.stateDirectory + "/fleet-password", 0o600)
        try fixture.store(50)
        let (daemon, listener) = try startDaemon()
        XCTAssertNotNil(listener.wait(timeout: 10) { $0.has("READY", "1") }.match, daemon.log)
        let messages = listener.collect(for: 6)
        XCTAssertTrue(daemon.isRunning, "a refused role is no reason to exit: \(daemon.log)")
        XCTAssertFalse(messages.contains { $0.has("WATCHDOG", "trigger") })
        XCTAssertTrue(messages.contains { $0.assignments["STATUS"]?.contains("fleet: refused by the collector") == true }, "\(messages)")
        let lines = daemon.log.split(separator: "\n").filter { $0.contains("password authentication failed") }
        XCTAssertEqual(lines.count, 1, "one line, however many attempts:\n\(daemon.log)")
        XCTAssertEqual(fixture.collectorCount(), 0)
        XCTAssertEqual(try fixture.localIDs().count, 50, "the events stay")
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.log)
    }

    /// Nine kills of at most a few thousand events each leave most of it; under a sanitizer, whose
    /// daemon ships several times slower, a smaller one keeps the final drain short.
    private static let crashBacklog = ProcessInfo.processInfo.environment["LIGHTSCOPE_SANITIZER"] == nil ? 150_000 : 40_000

    func testSigkillAtRandomPointsAndAfterCommitLosesAndDoublesNothing() throws {
        let backlog = Self.crashBacklog
        try fixture.store(backlog)
        var killsMidBacklog = 0
        var generator = SystemRandomNumberGenerator()
        var hookHit = false
        var listeners: [NotifyListener] = []
        defer { withExtendedLifetime(listeners) {} }
        for round in 0..<10 {
            // Round 3 dies at the worst point: right after a batch commits, before the cursor moves.
            let fault = round == 3 ? ["LIGHTSCOPE_FAULT_INJECTION": "1", FleetShipper.Configuration.faultVariable: "kill-after-commit:2"] : [:]
            let before = fixture.collectorCount()
            let (daemon, listener) = try startDaemon(batchEvents: 500, environment: fault)
            listeners.append(listener)
            if round == 3 {
                XCTAssertNotNil(daemon.waitForExit(timeout: 20), "the fault injection ends the daemon")
                let cursor = try EventStore(path: fixture.databasePath, readOnly: true).shippedThrough()
                let shipped = Int64(try fixture.server.query("SELECT coalesce(max(event_id), 0) FROM lightscope.events")) ?? 0
                hookHit = shipped > cursor
                continue
            }
            // Killed while it ships, at a random point of the backlog whatever the speed: once the
            // collector has up to six batches more than before this round.
            let target = before + Int.random(in: 1...3000, using: &generator)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, fixture.collectorCount() < target { usleep(30_000) }
            daemon.signal(SIGKILL)
            _ = daemon.waitForExit(timeout: 5)
            if (before + 1..<backlog).contains(fixture.collectorCount()) { killsMidBacklog += 1 }
        }
        XCTAssertTrue(hookHit, "the collector had committed beyond the cursor when the process died")
        XCTAssertGreaterThanOrEqual(killsMidBacklog, 7, "the kills came while the backlog was still shipping")
        try fixture.store(500, from: backlog)
        let (daemon, listener) = try startDaemon(batchEvents: 500)
        listeners.append(listener)
        XCTAssertTrue(waitForCollector(toMatchStore: 60), "collector \(fixture.collectorCount())\n\(daemon.log)")
        XCTAssertEqual(fixture.collectorCount(), backlog + 500, "nothing doubled")
        daemon.signal(SIGTERM)
        _ = daemon.waitForExit(timeout: 10)
    }

    func testABlackHoledCollectorNeitherStallsTheWatchdogNorCostsCapture() throws {
        let (daemon, listener) = try startDaemon()
        XCTAssertNotNil(listener.wait(timeout: 10) { $0.has("READY", "1") }.match, daemon.log)
        try lab.probeHostTCP(ports: Array(1...20))
        XCTAssertTrue(waitForCollector(toMatchStore: 20), daemon.log)
        // Every packet to the collector vanishes: no RST, no ICMP, the connection just goes quiet.
        try lab.run(in: lab.host, ["nft", "add", "table", "inet", "blackhole"])
        try lab.run(in: lab.host, ["nft", "add", "chain", "inet", "blackhole", "out", "{ type filter hook output priority 0 ; }"])
        try lab.run(in: lab.host, ["nft", "add", "rule", "inet", "blackhole", "out", "ip", "daddr", lab.peerIPv4, "tcp", "dport",
                                   String(fixture.server.port), "drop"])
        let start = Date()
        var messages: [NotifyMessage] = []
        for batch in 0..<8 {
            try lab.probeHostTCP(ports: Array(200 + batch * 20..<220 + batch * 20))
            messages += listener.collect(for: 1)
        }
        XCTAssertFalse(messages.contains { $0.has("WATCHDOG", "trigger") }, "\(messages)\n\(daemon.log)")
        let pings = messages.filter { $0.has("WATCHDOG", "1") }
        XCTAssertGreaterThanOrEqual(pings.count, Int(Date().timeIntervalSince(start)) - 2, "a ping every second throughout: \(messages)")
        let status = messages.last { $0.assignments["STATUS"] != nil }?.assignments["STATUS"] ?? ""
        XCTAssertTrue(status.contains(" 0 dropped"), status)
        XCTAssertTrue(status.contains("fleet: collector unreachable"), status)
        XCTAssertLessThan(fixture.collectorCount(), try fixture.localIDs().count, "the new events wait")
        try lab.run(in: lab.host, ["nft", "delete table inet blackhole"])
        XCTAssertTrue(waitForCollector(toMatchStore: 30), "shipping resumes: collector \(fixture.collectorCount())\n\(daemon.log)")
        XCTAssertTrue(daemon.isRunning)
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.log)
    }
}
