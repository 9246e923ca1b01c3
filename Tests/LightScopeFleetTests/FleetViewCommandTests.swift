import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeTestSupport
import XCTest

/// `lightscope fleet status` and `fleet scanners`: the real binary against a real PostgreSQL 15,
/// as a reader role, with events shipped by the real shipper of two hosts.
final class FleetViewCommandTests: XCTestCase {
    var server: PostgresServer!
    var admin: PostgresConnection!
    var readerURL = ""

    override func setUpWithError() throws {
        server = try PostgresServer()
        admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 1, retentionDays: 30)
        let reader = try FleetCollector.addReader(admin, name: "ops", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        readerURL = server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")
    }

    override func tearDown() {
        admin = nil
        server?.destroy()
    }

    private func host(_ name: String, _ id: String) throws -> FleetTestHost {
        try FleetTestHost(server: server, admin: admin, name: name, hostID: HostID(id)!)
    }

    private func objects(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
    }

    /// Two probes on one host, one on the other: under every host's portscan threshold, and
    /// found only by looking at both.
    func testAScannerTwoHostsEachSawBelowTheirThresholdsIsFound() throws {
        try host("web1", "11111111-1111-4111-8111-111111111111")
            .ship([fleetEvent("198.51.100.77", port: 22), fleetEvent("198.51.100.77", port: 23), fleetEvent("203.0.113.5", port: 23)])
        try host("web2", "22222222-2222-4222-8222-222222222222")
            .ship([fleetEvent("198.51.100.77", port: 3389, verdict: .unanswered), fleetEvent("203.0.113.6", port: 23)])

        let json = try runLightScope(["fleet", "scanners", "--min-hosts", "2", "--since", "1h", "--json", "--url", readerURL])
        XCTAssertEqual(json.status, 0, json.errors)
        let found = try objects(json.output)
        XCTAssertEqual(found.count, 1, json.output)
        XCTAssertEqual(found.first?["src"] as? String, "198.51.100.77")
        XCTAssertEqual(found.first?["hosts"] as? Int, 2)
        XCTAssertEqual(found.first?["events"] as? Int, 3)
        XCTAssertEqual(found.first?["dports"] as? [Int], [22, 23, 3389])
        XCTAssertEqual(found.first?["verdicts"] as? [String: Int], ["closed": 2, "unanswered": 1])
        XCTAssertNotNil(RFC3339.parse(found.first?["first_seen"] as? String ?? ""), json.output)
        XCTAssertTrue(json.errors.contains("1 source seen by at least 2 hosts in the last 1h"), json.errors)

        let text = try runLightScope(["fleet", "scanners", "--url", readerURL])
        XCTAssertEqual(text.status, 0, text.errors)
        XCTAssertEqual(text.output.split(separator: "\n").count, 1, text.output)
        XCTAssertTrue(text.output.hasPrefix("198.51.100.77  2 hosts  3 events  ports 22,23,3389  first "), text.output)

        let everyone = try runLightScope(["fleet", "scanners", "--min-hosts", "1", "--json", "--url", readerURL])
        XCTAssertEqual(try objects(everyone.output).compactMap { $0["src"] as? String }, ["198.51.100.77", "203.0.113.5", "203.0.113.6"])
        let old = try runLightScope(["fleet", "scanners", "--min-hosts", "1", "--since", "30s", "--url", readerURL])
        XCTAssertEqual(old.output, "", "the events are a minute old: outside a 30 s window")

        let distributed = try runLightScope(["fleet", "scanners", "--distributed", "--json", "--url", readerURL])
        XCTAssertEqual(distributed.status, 0, distributed.errors)
        let ports = try objects(distributed.output)
        XCTAssertEqual(ports.count, 1, distributed.output)
        XCTAssertEqual(ports.first?["dport"] as? Int, 23)
        XCTAssertEqual(ports.first?["hosts"] as? Int, 2)
        XCTAssertEqual(ports.first?["sources"] as? Int, 3)
    }

    func testAHostSilentForThreeIntervalsIsFlaggedAndStatusFails() throws {
        let web1 = try host("web1", "11111111-1111-4111-8111-111111111111")
        let web2 = try host("web2", "22222222-2222-4222-8222-222222222222")
        try web1.beat(addresses: ["192.0.2.10"], intervalSeconds: 10)
        try web2.beat(addresses: ["192.0.2.20"], intervalSeconds: 10)

        let beating = try runLightScope(["fleet", "status", "--url", readerURL])
        XCTAssertEqual(beating.status, 0, beating.errors)
        XCTAssertEqual(beating.output.split(separator: "\n").count, 2, beating.output)
        XCTAssertFalse(beating.output.contains("SILENT"), beating.output)
        XCTAssertTrue(beating.output.hasPrefix("web1  11111111-1111-4111-8111-111111111111  \(LightScopeVersion.current)  last heartbeat "), beating.output)

        // Quiet for one and a half intervals is not silent; for more than three it is.
        try server.query("UPDATE lightscope.hosts SET last_seen = now() - interval '15 seconds' WHERE name = 'web1'")
        try server.query("UPDATE lightscope.hosts SET last_seen = now() - interval '31 seconds' WHERE name = 'web2'")
        let silent = try runLightScope(["fleet", "status", "--url", readerURL])
        XCTAssertEqual(silent.status, FleetSilentExitCode, silent.errors)
        let lines = silent.output.split(separator: "\n")
        guard lines.count == 2 else { return XCTFail("one line per host: \(silent.output)") }
        XCTAssertFalse(lines[0].contains("SILENT"), silent.output)
        XCTAssertTrue(lines[1].contains("SILENT: no heartbeat for 3"), silent.output)
        XCTAssertTrue(lines[1].hasSuffix("s, more than 3 intervals of 10s"), silent.output)
        XCTAssertTrue(silent.errors.contains("1 of 2 hosts silent: web2"), silent.errors)

        let json = try runLightScope(["fleet", "status", "--json", "--url", readerURL])
        XCTAssertEqual(json.status, FleetSilentExitCode)
        let hosts = try objects(json.output)
        XCTAssertEqual(hosts.map { $0["host"] as? String }, ["web1", "web2"])
        XCTAssertEqual(hosts.map { $0["silent"] as? Bool }, [false, true])
        XCTAssertEqual(hosts.last?["packets_dropped"] as? Int, 2)
        XCTAssertEqual(hosts.last?["heartbeat_interval_seconds"] as? Int, 10)
    }

    func testAnUnreachableCollectorOrAForeignSchemaIsAnErrorNamingTheFix() throws {
        let closedPort = server.tlsURL(role: "ops").replacingOccurrences(of: ":\(server.port)/", with: ":1/")
        let unreachable = try runLightScope(["fleet", "status", "--url", closedPort])
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertTrue(unreachable.errors.contains("cannot connect to the collector at 127.0.0.1:1"), unreachable.errors)
        XCTAssertTrue(unreachable.errors.contains("check --url (or [fleet] url)"), unreachable.errors)

        let web1 = try host("web1", "11111111-1111-4111-8111-111111111111")
        let asHost = try runLightScope(["fleet", "scanners", "--url", server.tlsURL(role: web1.role) + "&password=" + web1.password])
        XCTAssertEqual(asHost.status, 1)
        XCTAssertTrue(asHost.errors.contains("use a reader's URL (lightscope fleet add-reader"), asHost.errors)

        try server.query("INSERT INTO lightscope.schema_migrations (version, description) VALUES (\(FleetSchema.latestVersion + 1), 'from the future')")
        let newer = try runLightScope(["fleet", "status", "--url", readerURL])
        XCTAssertEqual(newer.status, 1)
        XCTAssertTrue(newer.errors.contains("newer than this LightScope"), newer.errors)
        XCTAssertTrue(newer.errors.contains("upgrade LightScope on this machine"), newer.errors)

        try server.query("DELETE FROM lightscope.schema_migrations WHERE version >= \(FleetSchema.viewsVersion)")
        let older = try runLightScope(["fleet", "scanners", "--url", readerURL])
        XCTAssertEqual(older.status, 1)
        XCTAssertTrue(older.errors.contains("run lightscope fleet init --url ADMIN-URL on the collector to upgrade it"), older.errors)
    }
}

/// `fleet status`'s exit status when a host is silent (1 means the collector could not be read).
let FleetSilentExitCode: Int32 = 2
