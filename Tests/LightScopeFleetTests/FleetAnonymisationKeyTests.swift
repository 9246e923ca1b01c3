import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// A fleet whose hosts anonymise sources: hosts that share one key correlate, hosts whose
/// pseudonyms come from different keys (or are no pseudonyms) are refused, by the real binary
/// and by the views, against a real PostgreSQL 15; and the key never reaches the collector.
final class FleetAnonymisationKeyTests: XCTestCase {
    var server: PostgresServer!
    var admin: PostgresConnection!
    var readerURL = ""
    var configPath = ""

    let fleetKey = [UInt8](repeating: 0x5a, count: AnonymisationKey.byteCount)
    let otherKey = [UInt8](repeating: 0xa5, count: AnonymisationKey.byteCount)
    let scanner = IPAddress("198.51.100.77")!

    override func setUpWithError() throws {
        server = try PostgresServer()
        admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 1, retentionDays: 30)
        let reader = try FleetCollector.addReader(admin, name: "ops", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        readerURL = server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")
        configPath = NSTemporaryDirectory() + "lightscope-fleet-keys-\(UUID().uuidString).conf"
        try "[blocklist]\n".write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: configPath)
        admin = nil
        server?.destroy()
    }

    /// Ships one event from `scanner` to `port`, as a host with `anonymiser` stores it.
    private func ship(_ name: String, _ id: String, port: UInt16, anonymiser: AddressAnonymiser) throws {
        let source = anonymiser.mode.anonymisesSource ? anonymiser.pseudonym(for: scanner) : scanner.description
        try FleetTestHost(server: server, admin: admin, name: name, hostID: HostID(id)!)
            .ship([fleetEvent(source, port: port)], anonymiser: anonymiser)
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try runLightScope(["fleet"] + arguments + ["--url", readerURL])
    }

    func testHostsSharingTheFleetKeyCorrelateAndTheKeyNeverReachesTheCollector() throws {
        let shared = AddressAnonymiser(mode: .sourceAndDestination, key: fleetKey)
        try ship("web1", "11111111-1111-4111-8111-111111111111", port: 22, anonymiser: shared)
        try ship("web2", "22222222-2222-4222-8222-222222222222", port: 23, anonymiser: shared)

        let scanners = try run(["scanners", "--min-hosts", "2", "--json"])
        XCTAssertEqual(scanners.status, 0, scanners.errors)
        XCTAssertTrue(scanners.output.contains("\"src\":\"\(shared.pseudonym(for: scanner))\""), scanners.output)
        XCTAssertTrue(scanners.output.contains("\"hosts\":2"), scanners.output)
        let top = try run(["top", "--by", "source"])
        XCTAssertEqual(top.status, 0, top.errors)
        XCTAssertTrue(top.output.contains(shared.pseudonym(for: scanner)), top.output)

        XCTAssertEqual(try server.query("SELECT DISTINCT anonymisation_key_id FROM lightscope.hosts"), shared.sourceKeyIdentifier)
        let status = try run(["status", "--json"])
        XCTAssertEqual(status.output.components(separatedBy: "\"anonymisation_key_id\":\"\(shared.sourceKeyIdentifier)\"").count, 3,
                       status.output)
        XCTAssertEqual(shared.sourceKeyIdentifier.count, 16)
        // Every row of every table and view of the collector, as text: neither the key nor any
        // encoding of it.
        let relations = try server.query("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'lightscope' AND c.relkind IN ('r', 'p', 'v') ORDER BY 1
            """).split(separator: "\n")
        XCTAssertTrue(relations.contains("hosts") && relations.contains("events_default"), "\(relations)")
        var everything = ""
        for relation in relations {
            everything += try server.query("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM lightscope.\(relation) t") + "\n"
        }
        XCTAssertTrue(everything.contains(shared.sourceKeyIdentifier), "the dump must hold the rows")
        let hex = fleetKey.map { String(format: "%02x", $0) }.joined()
        for encoding in [hex, hex.uppercased(), Data(fleetKey).base64EncodedString(), String(decoding: fleetKey, as: UTF8.self)] {
            XCTAssertFalse(everything.contains(encoding), "the key reached the collector as \(encoding)")
        }
    }

    func testHostsWithDifferentKeysAreRefusedNamingThemAndTheFix() throws {
        try ship("web1", "11111111-1111-4111-8111-111111111111", port: 22,
                 anonymiser: AddressAnonymiser(mode: .sourceAndDestination, key: fleetKey))
        try ship("web2", "22222222-2222-4222-8222-222222222222", port: 23,
                 anonymiser: AddressAnonymiser(mode: .sourceAndDestination, key: otherKey))

        for arguments in [["scanners", "--min-hosts", "2"], ["scanners", "--distributed"], ["top", "--by", "source"],
                          ["blocklist", "--format", "plain", "--config", configPath]] {
            let refused = try run(arguments)
            XCTAssertEqual(refused.status, 3, "\(arguments): \(refused.errors)")
            XCTAssertEqual(refused.output, "", "\(arguments)")
            for part in ["different anonymisation keys", "key \(AddressAnonymiser(mode: .sourceAndDestination, key: fleetKey).sourceKeyIdentifier): web1",
                         "key \(AddressAnonymiser(mode: .sourceAndDestination, key: otherKey).sourceKeyIdentifier): web2",
                         "[store] anonymisation_key"] {
                XCTAssertTrue(refused.errors.contains(part), "\(arguments) must say \(part): \(refused.errors)")
            }
        }
        let ports = try run(["top", "--by", "port"])
        XCTAssertEqual(ports.status, 0, "what does not compare sources still works: \(ports.errors)")

        let view = try server.psql(readerURL, "SELECT * FROM lightscope.fleet_scanners", allowFailure: true)
        XCTAssertNotEqual(view.status, 0, "the view refuses too")
        XCTAssertTrue(view.output.contains("different anonymisation keys"), view.output)
    }

    /// A host of a LightScope before the key id cannot be checked: it is named, not refused.
    func testAHostThatNamesNoKeyIsNamedInAWarning() throws {
        try ship("web1", "11111111-1111-4111-8111-111111111111", port: 22,
                 anonymiser: AddressAnonymiser(mode: .sourceAndDestination, key: fleetKey))
        let old = try FleetTestHost(server: server, admin: admin, name: "old1", hostID: HostID("33333333-3333-4333-8333-333333333333")!)
        try old.beat(addresses: ["192.0.2.30"], keyID: nil)
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.hosts WHERE anonymisation_key_id IS NULL"), "1")
        for arguments in [["scanners"], ["top", "--by", "source"], ["blocklist", "--format", "plain", "--config", configPath]] {
            let warned = try run(arguments)
            XCTAssertEqual(warned.status, 0, "\(arguments): \(warned.errors)")
            XCTAssertTrue(warned.errors.contains("warning: old1 did not say which anonymisation key"), "\(arguments): \(warned.errors)")
        }
        XCTAssertFalse(try run(["top", "--by", "port"]).errors.contains("warning"))
    }

    func testPlainAndAnonymisedHostsAreRefused() throws {
        try ship("web1", "11111111-1111-4111-8111-111111111111", port: 22, anonymiser: .disabled)
        try ship("web2", "22222222-2222-4222-8222-222222222222", port: 23,
                 anonymiser: AddressAnonymiser(mode: .destination, key: otherKey))
        XCTAssertEqual(try run(["scanners"]).status, 0, "destinations alone anonymised: sources still compare")

        try ship("web3", "33333333-3333-4333-8333-333333333333", port: 24,
                 anonymiser: AddressAnonymiser(mode: .sourceAndDestination, key: fleetKey))
        let refused = try run(["scanners"])
        XCTAssertEqual(refused.status, 3, refused.errors)
        XCTAssertTrue(refused.errors.contains("sources in the clear: web1, web2"), refused.errors)
    }
}
