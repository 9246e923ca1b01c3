import LightScopeCore
import LightScopeSystem
@testable import LightScopeFleet
import LightScopeTestSupport
import XCTest

/// The collector's schema, partitions and roles, on a real PostgreSQL 15.
final class FleetCollectorTests: XCTestCase {
    var server: PostgresServer!

    override func setUpWithError() throws { server = try PostgresServer() }
    override func tearDown() { server?.destroy() }

    private func initialised() throws -> PostgresConnection {
        let connection = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(connection)
        return connection
    }

    /// Batches travel as binary parameters: what the server decodes is what was encoded, NULLs,
    /// empty and non-ASCII text, extreme integers and microsecond times included.
    func testBinaryArraysAreWhatTheServerReads() throws {
        let connection = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        var texts = BinaryArray.text(capacity: 4), int8s = BinaryArray.int8(capacity: 3), int4s = BinaryArray.int4(capacity: 3)
        var int2s = BinaryArray.int2(capacity: 2), times = BinaryArray.timestamptz(capacity: 2)
        for text in ["eth0", nil, "", "tête \"quoted\" {1,2}"] { texts.append(text: text) }
        for value in [Int64.min, nil, Int64.max] { int8s.append(int64: value) }
        for value in [Int32(-1), nil, Int32.max] { int4s.append(int32: value) }
        for value in [Int16(255), nil] { int2s.append(int16: value) }
        times.append(timeNanos: 1_700_000_000_123_456_789)
        times.append(timeNanos: 0)
        let host = try XCTUnwrap(HostID("6c1f3a52-9e44-4b0d-8a57-2cd17e903b64"))
        try connection.send("""
            SELECT $1::text[]::text, $2::int8[]::text, $3::int4[]::text, $4::int2[]::text,
                (SELECT string_agg(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), ',') FROM unnest($5::timestamptz[]) t),
                $6::uuid::text, $7::int8::text
            """, binary: [texts.parameter, int8s.parameter, int4s.parameter, int2s.parameter, times.parameter,
                          .uuid(host.bytes), .int8(-42)], deadlineNanos: MonotonicClock.nowNanos() + 10_000_000_000)
        let row = try XCTUnwrap(connection.results(deadlineNanos: MonotonicClock.nowNanos() + 10_000_000_000).first?.rows.first)
        XCTAssertEqual(row, [#"{eth0,NULL,"","tête \"quoted\" {1,2}"}"#, "{-9223372036854775808,NULL,9223372036854775807}",
                             "{-1,NULL,2147483647}", "{255,NULL}", "2023-11-14 22:13:20.123456,1970-01-01 00:00:00.000000",
                             "6c1f3a52-9e44-4b0d-8a57-2cd17e903b64", "-42"])
    }

    func testInitAppliesEachMigrationOnceAndCreatesTheComingDays() throws {
        let connection = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        XCTAssertEqual(try FleetCollector.initialize(connection), FleetSchema.migrations.map(\.version))
        XCTAssertEqual(try FleetCollector.initialize(connection), [], "a second init changes nothing")
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.schema_migrations"), String(FleetSchema.migrations.count))
        let created = try FleetCollector.maintain(connection, daysAhead: 3, retentionDays: 30)
        XCTAssertEqual(created.count, 4, "\(created)")
        XCTAssertEqual(try FleetCollector.maintain(connection, daysAhead: 3, retentionDays: 30), [], "nothing left to do")
        let today = try server.query("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')")
        XCTAssertEqual(try server.query("SELECT to_regclass('lightscope.events_\(today)') IS NOT NULL"), "t")
    }

    func testPartitionForDaysTheDefaultHoldsIsCreatedWithTheRowsMovedIn() throws {
        let connection = try initialised()
        _ = try FleetCollector.maintain(connection, daysAhead: 1, retentionDays: 30)
        // A host whose clock runs ten days ahead: its row has no partition and lands in DEFAULT.
        try server.query("""
            INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, verdict, packets)
            VALUES ('6c1f3a52-9e44-4b0d-8a57-2cd17e903b64', 1, 1, now() + interval '10 days', 'eth0', 'tcp', '203.0.113.7', 'closed', 1)
            """)
        XCTAssertEqual(try server.query("SELECT count(*) FROM ONLY lightscope.events_default"), "1")
        // Plain CREATE ... PARTITION OF fails while DEFAULT holds a row of the range; maintain moves it first.
        let lines = try FleetCollector.maintain(connection, daysAhead: 12, retentionDays: 30)
        XCTAssertTrue(lines.contains { $0.contains("moved 1 rows from events_default") }, "\(lines)")
        XCTAssertEqual(try server.query("SELECT count(*) FROM ONLY lightscope.events_default"), "0")
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.events"), "1")
    }

    /// A collector set up before events named their tool (version 1) gains `tool` from the next
    /// `fleet init`: its rows, in a day's partition and in DEFAULT, read as `unknown`, and
    /// maintain still moves DEFAULT's rows into partitions it creates afterwards.
    func testAVersionOneCollectorGainsToolKeepingItsEvents() throws {
        let connection = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        let first = try XCTUnwrap(FleetSchema.migrations.first)
        XCTAssertEqual(first.version, 1)
        _ = try FleetCollector.execute(connection, FleetSchema.bookkeeping)
        _ = try FleetCollector.execute(connection, """
            BEGIN;
            \(first.sql)
            INSERT INTO lightscope.schema_migrations (version, description) VALUES (1, \(FleetCollector.literal(first.description)));
            COMMIT;
            """)
        _ = try FleetCollector.maintain(connection, daysAhead: 1, retentionDays: 30)
        try server.query("""
            INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, verdict, packets)
            VALUES ('6c1f3a52-9e44-4b0d-8a57-2cd17e903b64', 1, 1, now(), 'eth0', 'tcp', '203.0.113.7', 'closed', 1),
                   ('6c1f3a52-9e44-4b0d-8a57-2cd17e903b64', 1, 2, now() + interval '10 days', 'eth0', 'tcp', '203.0.113.7', 'closed', 1)
            """)
        XCTAssertEqual(try FleetCollector.initialize(connection), Array(2...FleetSchema.latestVersion))
        XCTAssertEqual(try server.query("SELECT max(version) FROM lightscope.schema_migrations"), "\(FleetSchema.latestVersion)")
        XCTAssertEqual(try server.query("SELECT event_id, tool FROM lightscope.events ORDER BY event_id"), "1|unknown\n2|unknown")
        let lines = try FleetCollector.maintain(connection, daysAhead: 12, retentionDays: 30)
        XCTAssertTrue(lines.contains { $0.contains("moved 1 rows from events_default") }, "\(lines)")
        XCTAssertEqual(try server.query("SELECT count(*) FROM ONLY lightscope.events_default"), "0")
        XCTAssertEqual(try server.query("SELECT event_id, tool FROM lightscope.events ORDER BY event_id"), "1|unknown\n2|unknown")
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.events WHERE answer IS NULL"), "2",
                       "rows shipped before backscatter have no answer, as on the host")
    }

    func testExpiredPartitionsAreDropped() throws {
        let connection = try initialised()
        try server.query("""
            INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, verdict, packets)
            VALUES ('6c1f3a52-9e44-4b0d-8a57-2cd17e903b64', 1, 1, now() - interval '5 days', 'eth0', 'tcp', '203.0.113.7', 'closed', 1)
            """)
        _ = try FleetCollector.maintain(connection, daysAhead: 0, retentionDays: 30)
        XCTAssertEqual(try server.query("SELECT count(*) FROM ONLY lightscope.events_default"), "0", "the old day got its partition")
        let lines = try FleetCollector.maintain(connection, daysAhead: 0, retentionDays: 2)
        XCTAssertTrue(lines.contains { $0.hasPrefix("dropped events_") }, "\(lines)")
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.events"), "0")
    }

    func testHostRoleWritesOnlyItsOwnHostIdAndReaderOnlyReads() throws {
        let connection = try initialised()
        _ = try FleetCollector.maintain(connection, daysAhead: 1, retentionDays: 30)
        let own = HostID("6c1f3a52-9e44-4b0d-8a57-2cd17e903b64")!
        let host = try FleetCollector.addHost(connection, name: "web1", hostID: own, authentication: .scram,
                                              collector: nil, adminURL: server.tlsURL(role: "postgres"))
        XCTAssertEqual(host.role, "lightscope_host_web1")
        XCTAssertEqual(host.url, "postgresql://lightscope_host_web1@127.0.0.1:\(server.port)/lightscope?sslmode=verify-full&sslrootcert=/etc/lightscope/fleet-ca.crt")
        let hostURL = server.tlsURL(role: host.role) + "&password=" + (host.password ?? "")
        func insert(_ id: String, table: String = "lightscope.events") throws -> (status: Int32, output: String) {
            try server.psql(hostURL, """
                INSERT INTO \(table) (host_id, store_id, event_id, time, interface, proto, src, verdict, packets)
                VALUES ('\(id)', 1, 1, now(), 'eth0', 'tcp', '203.0.113.7', 'closed', 1) ON CONFLICT DO NOTHING
                """, allowFailure: true)
        }
        let mine = try insert(own.description)
        XCTAssertEqual(mine.status, 0, mine.output)
        let other = try insert("0f0f0f0f-0000-4000-8000-000000000001")
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.output.contains("violates row-level security policy"), other.output)
        let today = try server.query("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')")
        let partition = try insert(own.description, table: "lightscope.events_\(today)")
        XCTAssertTrue(partition.output.contains("permission denied"), partition.output)
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.events"), "1")

        let reader = try FleetCollector.addReader(connection, name: "grafana", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        let readerURL = server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")
        XCTAssertEqual(try server.psql(readerURL, "SELECT count(*) FROM lightscope.events").output.trimmingCharacters(in: .whitespacesAndNewlines), "1")
        let write = try server.psql(readerURL, "DELETE FROM lightscope.events", allowFailure: true)
        XCTAssertTrue(write.output.contains("permission denied"), write.output)
    }

    func testRoleWithoutHostIdIsBoundToTheFirstItShipsWith() throws {
        let connection = try initialised()
        let host = try FleetCollector.addHost(connection, name: "db-2", hostID: nil, authentication: .scram,
                                              collector: "collector.example:6543", adminURL: server.adminURL())
        XCTAssertEqual(host.url, "postgresql://lightscope_host_db_2@collector.example:6543/lightscope?sslmode=verify-full&sslrootcert=/etc/lightscope/fleet-ca.crt")
        let url = server.tlsURL(role: host.role) + "&password=" + (host.password ?? "")
        let first = try server.psql(url, "SELECT lightscope.bind_host('6c1f3a52-9e44-4b0d-8a57-2cd17e903b64')", allowFailure: true)
        XCTAssertEqual(first.status, 0, first.output)
        let second = try server.psql(url, "SELECT lightscope.bind_host('0f0f0f0f-0000-4000-8000-000000000001')", allowFailure: true)
        XCTAssertTrue(second.output.contains("is bound to host id 6c1f3a52-9e44-4b0d-8a57-2cd17e903b64"), second.output)
        XCTAssertThrowsError(try FleetCollector.addHost(connection, name: "db-2", hostID: nil, authentication: .scram,
                                                        collector: "c:1", adminURL: server.adminURL())) { error in
            XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
        }
    }
}
