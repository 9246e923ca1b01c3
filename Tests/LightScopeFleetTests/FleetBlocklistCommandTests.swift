import Foundation
import LightScopeCore
@testable import LightScopeFleet
import LightScopeTestSupport
import XCTest

/// `lightscope fleet blocklist`: the real binary against a real PostgreSQL 15, with two hosts'
/// events shipped by the real shipper. A spoofed source is amplified across the fleet here, so
/// the exclusions are the point: the fleet's own hosts, the allow list and special addresses.
final class FleetBlocklistCommandTests: XCTestCase {
    var server: PostgresServer!
    var readerURL = ""
    var configPath = ""

    override func setUpWithError() throws {
        server = try PostgresServer()
        let admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 1, retentionDays: 30)
        let reader = try FleetCollector.addReader(admin, name: "ops", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        readerURL = server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")

        // Each source below is seen by both hosts; 198.51.100.88 by web1 alone.
        let bothSee = ["198.51.100.77", "2001:db8:77::1", "198.51.100.20", "2001:db8:20::20", "203.0.113.9", "127.0.0.1", "::1"]
        let web1 = try FleetTestHost(server: server, admin: admin, name: "web1", hostID: HostID("11111111-1111-4111-8111-111111111111")!)
        let web2 = try FleetTestHost(server: server, admin: admin, name: "web2", hostID: HostID("22222222-2222-4222-8222-222222222222")!)
        try web1.ship(bothSee.map { fleetEvent($0, port: 22) } + [fleetEvent("198.51.100.88", port: 22)])
        try web2.ship(bothSee.map { fleetEvent($0, port: 23) })
        // What the hosts say their own addresses are (the shipper reported this machine's).
        try web1.beat(addresses: ["198.51.100.10"])
        try web2.beat(addresses: ["198.51.100.20", "2001:db8:20::20"])

        configPath = NSTemporaryDirectory() + "lightscope-fleet-blocklist-\(UUID().uuidString).conf"
        try "[blocklist]\nallow = 203.0.113.0/24\n".write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: configPath)
        server?.destroy()
    }

    func testFleetHostsAllowListedAndLoopbackSourcesAreNeverListed() throws {
        let plain = try runLightScope(["fleet", "blocklist", "--format", "plain", "--config", configPath, "--url", readerURL])
        XCTAssertEqual(plain.status, 0, plain.errors)
        XCTAssertEqual(plain.output, "198.51.100.77\n2001:db8:77::1\n", plain.errors)
        XCTAssertTrue(plain.errors.contains("198.51.100.20 (fleet host web2)"), plain.errors)
        XCTAssertTrue(plain.errors.contains("2001:db8:20::20 (fleet host web2)"), plain.errors)
        XCTAssertTrue(plain.errors.contains("203.0.113.9 ([blocklist] allow 203.0.113.0/24)"), plain.errors)
        XCTAssertTrue(plain.errors.contains("127.0.0.1 (loopback)"), plain.errors)
        XCTAssertTrue(plain.errors.contains("1 IPv4 and 1 IPv6 sources seen by at least 2 hosts in the last 24h"), plain.errors)
        XCTAssertFalse(plain.errors.contains("pseudonym"), plain.errors)

        let one = try runLightScope(["fleet", "blocklist", "--format", "plain", "--min-hosts", "1", "--config", configPath, "--url", readerURL])
        XCTAssertEqual(one.output, "198.51.100.77\n198.51.100.88\n2001:db8:77::1\n", one.errors)
    }

    /// Backscatter victims: attacked by someone forging fleet hosts' addresses, so never listed,
    /// whatever else they did; a victim seen only through backscatter is no scanner at all, and
    /// its answers to the hosts' ports make no distributed scan.
    func testBackscatterVictimsAreNeverListedNorCountedAsScanners() throws {
        let admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        let web3 = try FleetTestHost(server: server, admin: admin, name: "web3", hostID: HostID("33333333-3333-4333-8333-333333333333")!)
        let web4 = try FleetTestHost(server: server, admin: admin, name: "web4", hostID: HostID("44444444-4444-4444-8444-444444444444")!)
        func backscatter(_ victim: String) -> EventRecord {
            var record = fleetEvent(victim, port: 40112, verdict: .backscatter)
            record.answer = .synAck
            return record
        }
        try web3.ship([fleetEvent("198.51.100.99", port: 22), backscatter("198.51.100.99"), backscatter("198.51.100.98")])
        try web4.ship([fleetEvent("198.51.100.99", port: 23), backscatter("198.51.100.98")])

        let plain = try runLightScope(["fleet", "blocklist", "--format", "plain", "--config", configPath, "--url", readerURL])
        XCTAssertEqual(plain.status, 0, plain.errors)
        XCTAssertEqual(plain.output, "198.51.100.77\n2001:db8:77::1\n", plain.errors)
        XCTAssertTrue(plain.errors.contains("198.51.100.99 (backscatter victim)"), plain.errors)
        XCTAssertEqual(try server.query("SELECT src, hosts, events FROM lightscope.fleet_scanners WHERE src LIKE '198.51.100.9%'"),
                       "198.51.100.99|2|2", "backscatter is no scanning")
        XCTAssertEqual(try server.query("SELECT count(*) FROM lightscope.fleet_distributed_scans WHERE dport = 40112"), "0")
        XCTAssertEqual(try server.query("SELECT src, hosts, events, packets FROM lightscope.fleet_backscatter_victims ORDER BY src"),
                       "198.51.100.98|2|2|2\n198.51.100.99|1|1|1")
    }

    /// A host that anonymises its own addresses cannot have them kept off the list: said, by name.
    func testAHostWhoseAddressesArePseudonymsIsNamed() throws {
        try server.query("UPDATE lightscope.hosts SET addresses = ARRAY['anon4-3f2a9c01d2e4b5a6'] WHERE name = 'web1'")
        let plain = try runLightScope(["fleet", "blocklist", "--format", "plain", "--config", configPath, "--url", readerURL])
        XCTAssertEqual(plain.status, 0, plain.errors)
        XCTAssertTrue(plain.errors.contains("warning: web1 reports its addresses as pseudonyms ([store] anonymise): they cannot be kept off this list; give the fleet's own networks in [blocklist] allow"), plain.errors)
    }

    func testTheFleetNftRulesetIsAcceptedByNftAndLeavesTheLocalTableAlone() throws {
        let nft = try runLightScope(["fleet", "blocklist", "--format", "nft", "--config", configPath, "--url", readerURL])
        XCTAssertEqual(nft.status, 0, nft.errors)
        XCTAssertTrue(nft.output.contains("table inet lightscope_fleet {"), nft.output)
        XCTAssertFalse(nft.output.contains("198.51.100.20"), nft.output)
        let file = NSTemporaryDirectory() + "lightscope-fleet-\(UUID().uuidString).nft"
        try nft.output.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let lab = try NamespaceLab(withVeth: false)
        defer { lab.destroy() }
        try shell(["ip", "netns", "exec", lab.host, "nft", "-c", "-f", file])
        try shell(["ip", "netns", "exec", lab.host, "nft", "-f", file])
        let set = try shell(["ip", "netns", "exec", lab.host, "nft", "list", "set", "inet", "lightscope_fleet", "blocked_v4"]).output
        XCTAssertTrue(set.contains("198.51.100.77"), set)

        let ipset = try runLightScope(["fleet", "blocklist", "--format", "ipset", "--config", configPath, "--url", readerURL])
        XCTAssertTrue(ipset.output.contains("add lightscope-fleet-v4 198.51.100.77 -exist"), ipset.output)
    }
}
