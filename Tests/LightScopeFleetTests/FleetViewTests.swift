import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeTestSupport
import XCTest

/// The fleet views the schema ships (fleet_scanners, fleet_distributed_scans, host_health), on a
/// real PostgreSQL 15, read as a reader role would read them from psql or Grafana.
final class FleetViewTests: XCTestCase {
    var server: PostgresServer!
    var admin: PostgresConnection!

    override func setUpWithError() throws {
        server = try PostgresServer()
        admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 1, retentionDays: 30)
    }

    override func tearDown() {
        admin = nil
        server?.destroy()
    }

    private func readerURL() throws -> String {
        let reader = try FleetCollector.addReader(admin, name: "grafana", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        return server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")
    }

    func testReadersSelectTheViewsAndHostRolesCannot() throws {
        let web1 = try FleetTestHost(server: server, admin: admin, name: "web1", hostID: HostID("11111111-1111-4111-8111-111111111111")!)
        let web2 = try FleetTestHost(server: server, admin: admin, name: "web2", hostID: HostID("22222222-2222-4222-8222-222222222222")!)
        try web1.ship([fleetEvent("198.51.100.77", port: 22), fleetEvent("198.51.100.77", port: 23), fleetEvent("203.0.113.5", port: 23)])
        try web2.ship([fleetEvent("198.51.100.77", port: 3389), fleetEvent("203.0.113.6", port: 23)])
        let reader = try readerURL()

        let scanners = try server.psql(reader, """
            SELECT src, hosts, events, dports, closed, unanswered FROM lightscope.fleet_scanners ORDER BY hosts DESC, src
            """).output.split(separator: "\n")
        XCTAssertEqual(scanners, ["198.51.100.77|2|3|{22,23,3389}|3|0", "203.0.113.5|1|1|{23}|1|0", "203.0.113.6|1|1|{23}|1|0"])
        let distributed = try server.psql(reader, """
            SELECT proto, dport, hosts, sources, events FROM lightscope.fleet_distributed_scans WHERE sources >= 2 ORDER BY dport
            """).output.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(distributed, "tcp|23|2|3|3", "port 23 probed on both hosts by three sources")
        let old = try server.psql(reader, "SELECT count(*) FROM lightscope.fleet_scanners_since(now() + interval '1 minute')")
        XCTAssertEqual(old.output.trimmingCharacters(in: .whitespacesAndNewlines), "0", "the window bounds the rows")

        try server.query("UPDATE lightscope.hosts SET last_seen = now() - 4 * heartbeat_interval WHERE name = 'web2'")
        let health = try server.psql(reader, "SELECT name, silent, heartbeat_interval FROM lightscope.host_health ORDER BY name")
        XCTAssertEqual(health.output.split(separator: "\n"), ["web1|f|00:00:01", "web2|t|00:00:01"])

        let hostURL = server.tlsURL(role: web1.role) + "&password=" + web1.password
        for view in ["fleet_scanners", "fleet_distributed_scans", "host_health"] {
            let denied = try server.psql(hostURL, "SELECT count(*) FROM lightscope.\(view)", allowFailure: true)
            XCTAssertTrue(denied.output.contains("permission denied"), "a host role reads no fleet view: \(denied.output)")
        }
    }
}
