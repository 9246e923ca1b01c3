import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeTestSupport
import XCTest

/// `lightscope fleet events` and `fleet top`: the real binary against a real PostgreSQL 15, as a
/// reader role, over the events two hosts shipped with the real shipper.
final class FleetEventsCommandTests: XCTestCase {
    var server: PostgresServer!
    var admin: PostgresConnection!
    var readerURL = ""
    var web1: FleetTestHost!

    override func setUpWithError() throws {
        server = try PostgresServer()
        admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 1, retentionDays: 30)
        let reader = try FleetCollector.addReader(admin, name: "ops", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        readerURL = server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")
        web1 = try FleetTestHost(server: server, admin: admin, name: "web1", hostID: HostID("11111111-1111-4111-8111-111111111111")!)
        try web1.ship([fleetEvent("198.51.100.77", port: 22, secondsAgo: 100), fleetEvent("198.51.100.77", port: 23, secondsAgo: 90),
                       fleetEvent("203.0.113.5", port: 23, secondsAgo: 80, verdict: .unanswered)])
        try FleetTestHost(server: server, admin: admin, name: "web2", hostID: HostID("22222222-2222-4222-8222-222222222222")!)
            .ship([fleetEvent("198.51.100.77", port: 3389, secondsAgo: 70), fleetEvent("203.0.113.6", port: 23, secondsAgo: 60)])
    }

    override func tearDown() {
        web1 = nil
        admin = nil
        server?.destroy()
    }

    private func objects(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
    }

    func testTopCountsEachHostsEventsBySourceAndByHost() throws {
        let byHost = try runLightScope(["fleet", "top", "--by", "host", "--url", readerURL])
        XCTAssertEqual(byHost.status, 0, byHost.errors)
        XCTAssertEqual(byHost.output, """
            EVENTS  PACKETS  HOST
                 3        3  web1
                 2        2  web2

            """)

        let bySource = try runLightScope(["fleet", "top", "--by", "source", "--json", "--url", readerURL])
        XCTAssertEqual(bySource.status, 0, bySource.errors)
        let sources = try objects(bySource.output)
        XCTAssertEqual(sources.map { $0["src"] as? String }, ["198.51.100.77", "203.0.113.5", "203.0.113.6"])
        XCTAssertEqual(sources.map { $0["events"] as? Int }, [3, 1, 1])
        XCTAssertEqual(sources.map { $0["packets"] as? Int }, [3, 1, 1])

        let scannerHosts = try runLightScope(["fleet", "top", "--by", "host", "--src", "198.51.100.77", "--dport", "3389", "--json", "--url", readerURL])
        XCTAssertEqual(try objects(scannerHosts.output).map { $0["host"] as? String }, ["web2"], scannerHosts.errors)
        let ports = try runLightScope(["fleet", "top", "--by", "port", "--limit", "1", "--json", "--url", readerURL])
        XCTAssertEqual(ports.output, "{\"proto\":\"tcp\",\"port\":23,\"events\":3}\n", ports.errors)
        let verdicts = try runLightScope(["fleet", "top", "--by", "verdict", "--url", readerURL])
        XCTAssertEqual(verdicts.output, "EVENTS  PACKETS  VERDICT\n     4        4  closed\n     1        1  unanswered\n", verdicts.errors)
    }

    func testEventsOfOneVerdictCarryTheHostAndTheLocalFieldNames() throws {
        let closed = try runLightScope(["fleet", "events", "--verdict", "closed", "--json", "--url", readerURL])
        XCTAssertEqual(closed.status, 0, closed.errors)
        let events = try objects(closed.output)
        XCTAssertEqual(events.map { $0["host"] as? String }, ["web1", "web1", "web2", "web2"], closed.output)
        XCTAssertEqual(events.map { $0["src"] as? String }, ["198.51.100.77", "198.51.100.77", "198.51.100.77", "203.0.113.6"])
        XCTAssertEqual(events.map { $0["dport"] as? Int }, [22, 23, 3389, 23])
        XCTAssertEqual(Set(events.compactMap { $0["verdict"] as? String }), ["closed"])
        let local = fleetEvent("198.51.100.77", port: 22, secondsAgo: 100)
        for line in closed.output.split(separator: "\n") {
            let record = try EventJSON.decode(String(line))
            XCTAssertEqual(record.ttl, local.ttl)
            XCTAssertEqual(record.sourcePort, local.sourcePort)
            XCTAssertEqual(record.interface, local.interface)
        }
        let localKeys = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(EventJSON.encode(local).utf8)) as? [String: Any]).keys
        XCTAssertEqual(Set(events.first.map { Array($0.keys) } ?? []), Set(localKeys).union(["host"]), "the local command's field names, and host")

        let text = try runLightScope(["fleet", "events", "--dport", "23", "--limit", "2", "--url", readerURL])
        let lines = text.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, text.output)
        XCTAssertEqual(lines.map { $0.split(separator: " ").dropFirst().first.map(String.init) }, ["web1", "web2"], text.output)
        XCTAssertTrue(lines.last?.contains("203.0.113.6") == true, text.output)
    }

    /// If --src reached the SQL as text, this value would match every event.
    func testAHostileSourceIsAValueNotSQL() throws {
        let hostile = "198.51.100.77' OR '1'='1"
        let events = try runLightScope(["fleet", "events", "--src", hostile, "--json", "--url", readerURL])
        XCTAssertEqual(events.status, 0, events.errors)
        XCTAssertEqual(events.output, "")
        XCTAssertTrue(events.errors.contains("no events from 198.51.100.77' OR '1'='1 in the last 1h"), events.errors)
        let top = try runLightScope(["fleet", "top", "--by", "host", "--src", "x'); SELECT pg_sleep(30); --", "--url", readerURL])
        XCTAssertEqual(top.status, 0, top.errors)
        XCTAssertEqual(top.output, "")
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.events"), "5")
    }

    func testTheCollectorsErrorsAreThoseOfFleetStatus() throws {
        let closedPort = readerURL.replacingOccurrences(of: ":\(server.port)/", with: ":1/")
        let unreachable = try runLightScope(["fleet", "events", "--url", closedPort])
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertTrue(unreachable.errors.contains("check --url (or [fleet] url)"), unreachable.errors)

        let asHost = try runLightScope(["fleet", "top", "--url", server.tlsURL(role: web1.role) + "&password=" + web1.password])
        XCTAssertEqual(asHost.status, 1)
        XCTAssertTrue(asHost.errors.contains("use a reader's URL (lightscope fleet add-reader"), asHost.errors)

        try server.query("DELETE FROM lightscope.schema_migrations WHERE version >= \(FleetSchema.viewsVersion)")
        let older = try runLightScope(["fleet", "events", "--url", readerURL])
        XCTAssertEqual(older.status, 1)
        XCTAssertTrue(older.errors.contains("to upgrade it"), older.errors)

        let badVerdict = try runLightScope(["fleet", "events", "--verdict", "nope", "--url", readerURL])
        XCTAssertNotEqual(badVerdict.status, 0)
        XCTAssertTrue(badVerdict.errors.contains("'nope' is not a verdict"), badVerdict.errors)
    }
}
