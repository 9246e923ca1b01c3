import Foundation
import LightScopeCore
import LightScopeSystem
@testable import LightScopeDaemon
import LightScopeFleet
import LightScopeStore
import LightScopeSystemd
import LightScopeTestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The fleet shipper as one of the runner's supervised loops, against a real PostgreSQL: started
/// through `startService` (its heartbeat in the watchdog), replaced by a reload only when
/// `[fleet]` or its password changed, and its losses in the one loss counter.
final class RunnerFleetTests: XCTestCase {
    private var server: PostgresServer!
    private var role = ""
    private var password = ""
    private let hostID = "6c1f3a52-9e44-4b0d-8a57-2cd17e903b64"

    override func setUpWithError() throws {
        server = try PostgresServer()
        let admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 2, retentionDays: 30)
        let credentials = try FleetCollector.addHost(admin, name: "web1", hostID: nil, authentication: .scram, collector: nil,
                                                     adminURL: server.tlsURL(role: "postgres"))
        role = credentials.role
        password = try XCTUnwrap(credentials.password)
    }

    override func tearDown() {
        server?.destroy()
    }

    private func config(level: String = "info", fleet: String?, store: String = "") -> String {
        """
        [watchdog]
        status_interval = 200ms
        [log]
        level = \(level)
        \(store)
        \(fleet.map { "[fleet]\n\($0)" } ?? "")

        """
    }

    private func fleetSection(passwordFile: String, interval: String = "1s") -> String {
        "url = \(server.tlsURL(role: role))\npassword_file = \(passwordFile)\ninterval = \(interval)\nretry_max_interval = 1s\n"
    }

    private func writePassword(_ path: String, mode: mode_t = 0o600) throws {
        try password.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
    }

    /// The collector's backend serving this host's role: a new one means a new connection.
    private func backendPID() -> String {
        (try? server.query("SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE usename = '\(role)'")) ?? ""
    }

    private func waitUntil(_ timeout: Double = 15, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    func testAReloadReplacesTheShipperOnlyWhenFleetOrItsPasswordChanged() throws {
        let harness = try RunnerHarness(config: "", environment: [HostID.overrideVariable: hostID])
        defer { harness.cleanUp() }
        let passwordFile = harness.directory + "/fleet-password"
        try writePassword(passwordFile)
        try harness.rewriteConfig(config(fleet: fleetSection(passwordFile: passwordFile)))
        harness.startAndWaitForReady()
        XCTAssertTrue(waitUntil { harness.snapshot?.fleet?.connected == true && !backendPID().isEmpty }, "\(String(describing: harness.snapshot?.fleet))")
        XCTAssertEqual(harness.snapshot?.loops.filter { $0.name == "fleet shipper" }.count, 1, "supervised like every loop")
        let first = backendPID()

        // [fleet] as it was: the shipper and its connection stay.
        try harness.rewriteConfig(config(level: "debug", fleet: fleetSection(passwordFile: passwordFile)))
        XCTAssertNotNil(harness.reload())
        XCTAssertEqual(harness.snapshot?.reload?.applied, true)
        XCTAssertEqual(Log.level, .debug)
        usleep(1_500_000)
        XCTAssertEqual(backendPID(), first, "the same connection")

        // A password file others can read: the whole reload is rejected, the shipper untouched.
        chmod(passwordFile, 0o644)
        try harness.rewriteConfig(config(level: "info", fleet: fleetSection(passwordFile: passwordFile, interval: "2s")))
        XCTAssertNotNil(harness.reload())
        let rejected = try XCTUnwrap(harness.snapshot?.reload)
        XCTAssertFalse(rejected.applied)
        XCTAssertTrue(rejected.problem?.contains("fix [fleet]") == true, rejected.problem ?? "")
        XCTAssertEqual(rejected.exitCode, ExitCode.config.rawValue)
        XCTAssertEqual(Log.level, .debug, "nothing of the rejected config is in force")
        XCTAssertEqual(backendPID(), first)

        // A changed [fleet]: one shipper, a new connection.
        chmod(passwordFile, 0o600)
        XCTAssertNotNil(harness.reload())
        XCTAssertEqual(harness.snapshot?.reload?.applied, true)
        XCTAssertTrue(waitUntil { let now = backendPID(); return !now.isEmpty && now != first }, "a new connection")
        XCTAssertEqual(harness.snapshot?.loops.filter { $0.name == "fleet shipper" }.count, 1)

        // No [fleet]: no shipper, no connection.
        try harness.rewriteConfig(config(fleet: nil))
        XCTAssertNotNil(harness.reload())
        XCTAssertTrue(waitUntil { backendPID().isEmpty })
        XCTAssertNil(harness.snapshot?.fleet)
        XCTAssertEqual(harness.snapshot?.loops.filter { $0.name == "fleet shipper" }.count, 0)
        harness.signals.send(SIGTERM)
        XCTAssertEqual(harness.waitForExit(), 0)
    }

    /// Events the store removes before the collector had them are lost with reason `fleet`, in
    /// the one counter that status, metrics and the stop line read; not also under `disk`.
    func testEventsRemovedBeforeDeliveryAreLostToTheFleetOnce() throws {
        let port = freeLoopbackPort()
        let harness = try RunnerHarness(config: "", environment: [HostID.overrideVariable: hostID])
        defer { harness.cleanUp() }
        mkdir(harness.stateDirectory, 0o700)
        try EventStore(directory: harness.stateDirectory).insert((0..<1500).map { index in
            EventRecord(timeNanos: WallClock.nowNanos() - 60_000_000_000 + UInt64(index), interface: "fake0", proto: .tcp,
                        source: "198.51.100.\(index % 200)", sourcePort: 40000, destination: RunnerHarness.localAddress,
                        destinationPort: 22, verdict: .closed, packets: 1, ttl: 64, tcpWindow: nil, tcpOptions: nil,
                        ports: nil, addresses: nil)
        })
        // A collector that refuses the role: nothing is delivered while the store is trimmed.
        let passwordFile = harness.directory + "/fleet-password"
        try "not-the-password".write(toFile: passwordFile, atomically: false, encoding: .utf8)
        chmod(passwordFile, 0o600)
        try harness.rewriteConfig(config(fleet: fleetSection(passwordFile: passwordFile),
                                         store: "[store]\nmax_events = 1000\n[metrics]\nlisten = 127.0.0.1:\(port)"))
        harness.startAndWaitForReady()
        XCTAssertTrue(waitUntil { harness.snapshot?.lostEvents["fleet"] == 500 }, "\(String(describing: harness.snapshot?.lostEvents))")
        let snapshot = try XCTUnwrap(harness.snapshot)
        XCTAssertEqual(snapshot.lostEvents["disk"], 0, "each lost event counts once")
        XCTAssertTrue(waitUntil { harness.snapshot?.fleet?.eventsPending == 1000 }, "\(String(describing: harness.snapshot?.fleet))")
        let scrape = try XCTUnwrap(httpGet(port: port))
        XCTAssertTrue(scrape.contains("lightscope_events_lost_total{reason=\"fleet\"} 500\n"), scrape)
        XCTAssertFalse(scrape.contains("lightscope_fleet_events_lost_total"), "one counter, by reason")
        harness.signals.send(SIGTERM)
        XCTAssertEqual(harness.waitForExit(), 0)
    }
}
