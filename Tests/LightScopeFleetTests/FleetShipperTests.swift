import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The shipper loop in this process, against a real PostgreSQL 15 over TLS (verify-full, SCRAM).
final class FleetShipperTests: XCTestCase {
    var fixture: FleetFixture!

    override func setUpWithError() throws { fixture = try FleetFixture() }
    override func tearDown() { fixture?.cleanUp() }

    func testEveryEventArrivesOnceWithItsFieldsOverTLSAndTheHostBeats() throws {
        try fixture.store(5432)
        let shipper = try fixture.shipper()
        shipper.start()
        defer { XCTAssertTrue(shipper.stop(timeout: .seconds(10))) }
        XCTAssertTrue(fixture.waitForCollector(count: 5432, timeout: 30), "collector has \(fixture.collectorCount()); \(fixture.lines.messages())")
        XCTAssertEqual(try fixture.collectorIDs(), try fixture.localIDs())
        let row = try fixture.server.query("""
            SELECT host_id, interface, proto, src, sport, dst, dport, verdict, packets, ttl, "window", tcp_options, ports, addresses,
                to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            FROM lightscope.events WHERE event_id = 3
            """)
        let record = FleetSample.record(2)
        XCTAssertEqual(record.verdict, .portscan)
        XCTAssertEqual(row, "\(fixture.hostID)|eth0|tcp|203.0.113.2||192.0.2.1||portscan|3|54|64240|M1460,S,T,N,W7|40||\(RFC3339.format(timeNanos: record.timeNanos))")
        XCTAssertEqual(try fixture.server.query("SELECT tool FROM lightscope.events WHERE event_id = 3"), record.tool.name)
        let shippedTools = (0..<5432).map { FleetSample.record($0).tool.name }
        let toolCounts = Dictionary(grouping: shippedTools, by: { $0 }).sorted { $0.key < $1.key }.map { "\($0.key)|\($0.value.count)" }
        XCTAssertEqual(toolCounts.count, ScanTool.allCases.count, "the sample names every tool")
        XCTAssertEqual(try fixture.server.query("SELECT tool, count(*) FROM lightscope.events GROUP BY tool ORDER BY tool"),
                       toolCounts.joined(separator: "\n"), "each event arrives with its tool")
        let flags = (0..<5432).map { FleetSample.flags($0) }
        XCTAssertEqual(try fixture.server.query("""
            SELECT count(*) FILTER (WHERE tcp_flags IS NULL), count(*) FILTER (WHERE tcp_flags = ''),
                count(*) FILTER (WHERE tcp_flags = 'FPU') FROM lightscope.events
            """), "\(flags.filter { $0 == nil }.count)|\(flags.filter { $0 == "" }.count)|\(flags.filter { $0 == "FPU" }.count)",
            "each event arrives with its flags, a NULL probe's empty ones apart from none")
        let tls = try fixture.server.query("SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = '\(fixture.role)'")
        XCTAssertEqual(tls, "t", "the shipper's session runs over TLS")
        let deadline = Date().addingTimeInterval(10)
        while (try? fixture.server.query("SELECT count(*) FROM lightscope.hosts")) != "1", Date() < deadline { usleep(100_000) }
        XCTAssertEqual(try fixture.server.query("SELECT name, role_name, version FROM lightscope.hosts"),
                       "web1|\(fixture.role)|\(LightScopeVersion.current)")
        XCTAssertTrue(shipper.snapshot.connected)
        XCTAssertEqual(shipper.snapshot.eventsShipped, 5432)
        XCTAssertNil(shipper.snapshot.problem)
    }

    func testAnOutageLosesNothingAndDoublesNothing() throws {
        try fixture.store(1500)
        let shipper = try fixture.shipper()
        shipper.start()
        defer { XCTAssertTrue(shipper.stop(timeout: .seconds(10))) }
        XCTAssertTrue(fixture.waitForCollector(count: 1500, timeout: 30))
        try fixture.server.stop()
        for round in 0..<5 {
            try fixture.store(700, from: 1500 + round * 700)
            usleep(400_000)
        }
        XCTAssertTrue(shipper.snapshot.problem?.contains("unreachable") == true, "\(String(describing: shipper.snapshot.problem))")
        try fixture.server.start()
        XCTAssertTrue(fixture.waitForCollector(count: 5000, timeout: 30), "collector has \(fixture.collectorCount())")
        XCTAssertEqual(try fixture.collectorIDs(), try fixture.localIDs(), "the same set of ids on both sides")
        let outageLines = fixture.lines.messages(.warning).filter { $0.contains("cannot ship to the collector") }
        XCTAssertEqual(outageLines.count, 1, "one line per outage, however many attempts: \(fixture.lines.messages())")
        XCTAssertEqual(fixture.lines.messages(.notice).filter { $0.contains("shipping again") }.count, 1)
    }

    func testAWrongPasswordIsSaidOnceAndTheEventsStay() throws {
        try fixture.store(300)
        let shipper = try fixture.shipper(password: "not-the-password")
        shipper.start()
        sleep(4)
        XCTAssertTrue(shipper.stop(timeout: .seconds(10)))
        let refusals = fixture.lines.messages(.error).filter { $0.contains("password authentication failed") }
        XCTAssertEqual(refusals.count, 1, "\(fixture.lines.messages())")
        XCTAssertTrue(refusals.first?.contains("fix [fleet] url or password_file") == true)
        XCTAssertTrue(shipper.snapshot.problem?.contains("refused by the collector") == true)
        XCTAssertEqual(fixture.collectorCount(), 0)
        XCTAssertEqual(try fixture.localIDs().count, 300, "the events stay in the local store")
        XCTAssertEqual(try EventStore(path: fixture.databasePath).shippedThrough(), 0)
    }

    /// A host upgraded before its collector: the collector lacks `tool` (schema version 1), so
    /// the shipper names the fix once and keeps the events; after `fleet init` they arrive with
    /// their tools.
    func testACollectorWithoutTheToolColumnIsToldToUpgradeThenShippedTo() throws {
        try fixture.server.query("""
            DROP VIEW lightscope.fleet_scanners, lightscope.fleet_distributed_scans, lightscope.host_health;
            DROP FUNCTION lightscope.fleet_scanners_since, lightscope.fleet_distributed_scans_since;
            ALTER TABLE lightscope.events DROP COLUMN tool, DROP COLUMN tcp_flags;
            DELETE FROM lightscope.schema_migrations WHERE version >= 2
            """)
        try fixture.store(60)
        let shipper = try fixture.shipper()
        shipper.start()
        defer { XCTAssertTrue(shipper.stop(timeout: .seconds(10))) }
        let deadline = Date().addingTimeInterval(10)
        while shipper.snapshot.problem == nil, Date() < deadline { usleep(100_000) }
        XCTAssertTrue(shipper.snapshot.problem?.contains("refused by the collector") == true, "\(String(describing: shipper.snapshot.problem))")
        let refusals = fixture.lines.messages(.error).filter { $0.contains("schema is version 1, this LightScope needs \(FleetSchema.requiredVersion): run lightscope fleet init") }
        XCTAssertEqual(refusals.count, 1, "\(fixture.lines.messages())")
        XCTAssertEqual(fixture.collectorCount(), 0)

        let admin = try FleetCollector.connect(url: fixture.server.adminURL(), environment: [:])
        XCTAssertEqual(try FleetCollector.initialize(admin), Array(2...FleetSchema.latestVersion))
        XCTAssertTrue(fixture.waitForCollector(count: 60, timeout: 30), "collector has \(fixture.collectorCount()); \(fixture.lines.messages())")
        XCTAssertEqual(try fixture.server.query("SELECT tool FROM lightscope.events WHERE event_id = 5"), FleetSample.record(4).tool.name)
        XCTAssertEqual(try fixture.server.query("SELECT count(DISTINCT tool) FROM lightscope.events"), String(ScanTool.allCases.count))
    }

    /// A host upgraded before its collector: the collector lacks `tcp_flags`, so the shipper
    /// names the fix once and keeps the events; after `fleet init` they arrive with their flags.
    func testACollectorWithoutTheFlagsColumnIsToldToUpgradeThenShippedTo() throws {
        let before = FleetSchema.tcpFlagsVersion - 1
        try fixture.server.query("""
            ALTER TABLE lightscope.events DROP COLUMN tcp_flags;
            DELETE FROM lightscope.schema_migrations WHERE version > \(before)
            """)
        try fixture.store(60)
        let shipper = try fixture.shipper()
        shipper.start()
        defer { XCTAssertTrue(shipper.stop(timeout: .seconds(10))) }
        let deadline = Date().addingTimeInterval(10)
        while shipper.snapshot.problem == nil, Date() < deadline { usleep(100_000) }
        let refusals = fixture.lines.messages(.error).filter {
            $0.contains("schema is version \(before), this LightScope needs \(FleetSchema.requiredVersion): run lightscope fleet init")
        }
        XCTAssertEqual(refusals.count, 1, "\(fixture.lines.messages())")
        XCTAssertEqual(fixture.collectorCount(), 0)

        let admin = try FleetCollector.connect(url: fixture.server.adminURL(), environment: [:])
        XCTAssertEqual(try FleetCollector.initialize(admin), Array(FleetSchema.tcpFlagsVersion...FleetSchema.latestVersion))
        XCTAssertTrue(fixture.waitForCollector(count: 60, timeout: 30), "collector has \(fixture.collectorCount()); \(fixture.lines.messages())")
        XCTAssertEqual(try fixture.server.query("SELECT coalesce(tcp_flags, 'none') FROM lightscope.events WHERE event_id IN (1, 2, 18) ORDER BY event_id"),
                       [0, 1, 17].map { FleetSample.flags($0) ?? "none" }.joined(separator: "\n"))
    }

    func testALostRowIsReSentAndAKnownOneSkipped() throws {
        // What a crash between COMMIT and the cursor write leaves: the collector has the batch,
        // the cursor does not say so. The shipper sends it again and nothing is doubled.
        try fixture.store(2000)
        let store = try EventStore(path: fixture.databasePath)
        let shipper = try fixture.shipper()
        shipper.start()
        XCTAssertTrue(fixture.waitForCollector(count: 2000, timeout: 30))
        XCTAssertTrue(shipper.stop(timeout: .seconds(10)))
        try fixture.server.query("DELETE FROM lightscope.events WHERE event_id % 7 = 0")
        try shell(["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE store_info SET value = 0 WHERE key = 'fleet_shipped_through'\"); c.commit()", fixture.databasePath])
        XCTAssertEqual(try store.shippedThrough(), 0)
        let again = try fixture.shipper()
        again.start()
        defer { XCTAssertTrue(again.stop(timeout: .seconds(10))) }
        XCTAssertTrue(fixture.waitForCollector(count: 2000, timeout: 30), "collector has \(fixture.collectorCount())")
        XCTAssertEqual(try fixture.collectorIDs(), try fixture.localIDs())
        XCTAssertEqual(try store.shippedThrough(), 2000)
    }

    /// A backlog drains over `[fleet] connections` (two), batches side by side; once caught up
    /// the shipper holds one connection again.
    func testABacklogDrainsOverTwoConnectionsThenOne() throws {
        try fixture.store(30_000)
        var settings = fixture.settings()
        settings.connections = 2
        let shipper = try fixture.shipper(settings: settings)
        shipper.start()
        defer { XCTAssertTrue(shipper.stop(timeout: .seconds(10))) }
        var most = 0
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, fixture.collectorCount() < 30_000 {
            most = max(most, connections())
            usleep(20_000)
        }
        XCTAssertEqual(try fixture.collectorIDs(), try fixture.localIDs())
        XCTAssertEqual(most, 2, "two connections while the backlog drained")
        usleep(1_500_000)
        XCTAssertEqual(connections(), 1, "one once caught up")
    }

    /// The first batches after a connection skip rows the collector has; a later batch that
    /// meets one (an earlier run had more in flight) is sent again skipping them, not failed.
    func testKnownRowsBeyondTheFirstBatchesAreSkippedNotRefused() throws {
        try fixture.store(2000)
        let first = try fixture.shipper()
        first.start()
        XCTAssertTrue(fixture.waitForCollector(count: 2000, timeout: 30))
        XCTAssertTrue(first.stop(timeout: .seconds(10)))
        try fixture.server.query("DELETE FROM lightscope.events WHERE event_id <= 500 OR event_id % 10 = 0")
        try shell(["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE store_info SET value = 0 WHERE key = 'fleet_shipped_through'\"); c.commit()", fixture.databasePath])
        var settings = fixture.settings()
        settings.batchEvents = 100
        let again = try fixture.shipper(settings: settings)
        again.start()
        defer { XCTAssertTrue(again.stop(timeout: .seconds(10))) }
        XCTAssertTrue(fixture.waitForCollector(count: 2000, timeout: 30), "collector has \(fixture.collectorCount())")
        XCTAssertEqual(try fixture.collectorIDs(), try fixture.localIDs())
        XCTAssertEqual(fixture.lines.messages(.warning), [], "no batch failed")
        XCTAssertNil(again.snapshot.problem)
    }

    /// The host role's connections to the collector now.
    private func connections() -> Int {
        Int((try? fixture.server.query("SELECT count(*) FROM pg_stat_activity WHERE usename = '\(fixture.role)'")) ?? "") ?? -1
    }
}
