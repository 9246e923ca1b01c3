import Foundation
import LightScopeCore
import LightScopeSystem
@testable import LightScopeFleet
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// A flood's aggregate events (docs/store.md, "Aggregation") in the fleet: a real pipeline folds
/// a burst past its queue's mark into aggregates, the real shipper delivers the store to a real
/// PostgreSQL 15, and every fleet count equals the host's own: an aggregate counts as the
/// events it stands for, not as one row. Plus both sides of an upgrade (docs/fleet.md).
final class FleetAggregateTests: XCTestCase {
    var server: PostgresServer!
    var admin: PostgresConnection!
    var directory = ""

    override func setUpWithError() throws {
        server = try PostgresServer()
        admin = try FleetCollector.connect(url: server.adminURL(), environment: [:])
        _ = try FleetCollector.initialize(admin)
        _ = try FleetCollector.maintain(admin, daysAhead: 1, retentionDays: 30)
        directory = NSTemporaryDirectory() + "lightscope-fleetagg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A reader role's URL, for the real `lightscope fleet` commands.
    private func readerURL() throws -> String {
        let reader = try FleetCollector.addReader(admin, name: "ops", collector: nil, adminURL: server.tlsURL(role: "postgres"))
        return server.tlsURL(role: reader.role) + "&password=" + (reader.password ?? "")
    }

    override func tearDown() {
        admin = nil
        server?.destroy()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A burst of `count` probes from two /24s to three ports in one minute, five minutes ago,
    /// through a real pipeline whose queue (1024) takes the first 512 as single events and folds
    /// the rest. Returns the store the pipeline wrote.
    private func flood(_ count: Int) throws -> EventStore {
        let minute: UInt64 = 60_000_000_000
        let start = (WallClock.nowNanos() - 5 * minute) / minute * minute
        let pipeline = EventPipeline(stateDirectory: directory, settings: Settings.Store(), anonymiser: .disabled, journal: nil,
                                     queueCapacity: 1024, log: { _, _ in })
        for index in 0..<count {
            let network: UInt32 = index % 2 == 0 ? 0xCB00_7100 : 0xC633_6400 // 203.0.113.0, 198.51.100.0
            XCTAssertTrue(pipeline.submit(UnwantedEvent(
                timeNanos: start + UInt64(index) * minute / UInt64(count), interface: "eth0", proto: .tcp,
                source: IPAddress(ipv4: network | UInt32(index % 251)), sourcePort: 40000, destination: IPAddress("192.0.2.1")!,
                destinationPort: [22, 23, 80][index % 3], verdict: .closed, packets: 1, ttl: 54, tool: .unknown, tcpFlags: .syn)))
        }
        pipeline.start()
        XCTAssertTrue(pipeline.stop(timeout: .seconds(60)))
        XCTAssertGreaterThan(pipeline.counters.snapshot.aggregated, 0, "the burst passed the mark")
        return try EventStore(directory: directory, readOnly: true)
    }

    func testAFloodsAggregatesCountInTheFleetAsOnTheHost() throws {
        let count = 6_000
        let local = try flood(count)
        let records = try local.events(since: 0, limit: 100_000)
        XCTAssertLessThan(records.count, count / 4, "most of the burst is in aggregates")
        let web1 = try FleetTestHost(server: server, admin: admin, name: "web1", hostID: HostID("11111111-1111-4111-8111-111111111111")!)
        try web1.ship(records)
        let web2 = try FleetTestHost(server: server, admin: admin, name: "web2", hostID: HostID("22222222-2222-4222-8222-222222222222")!)
        try web2.ship([fleetEvent("198.18.0.9", port: 22), fleetEvent("198.51.100.4", port: 23, verdict: .unanswered)])
        let window = 3600.0

        // Per host, per verdict and in all: the host's counts, web2's two events beside them.
        let byHost = try FleetEvents.top(admin, by: .host, filter: .init(windowSeconds: window), limit: 10)
        XCTAssertEqual(byHost.map(\.key), [["web1"], ["web2"]])
        XCTAssertEqual(byHost.map(\.events), [Int64(count), 2])
        XCTAssertEqual(byHost[0].packets, Int64(count), "one packet per probe")
        let byVerdict = try FleetEvents.top(admin, by: .verdict, filter: .init(windowSeconds: window), limit: 10)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: byVerdict.map { ($0.key[0], $0.events) }),
                       ["closed": Int64(try local.countsByVerdict(since: 0)[.closed]!) + 1, "unanswered": 1])

        // Per source: an aggregate stays its network, as `lightscope top --by source` shows it.
        let onWeb1 = FleetEvents.Filter(windowSeconds: window, verdict: .closed)
        let bySource = try FleetEvents.top(admin, by: .source, filter: onWeb1, limit: 1000)
            .filter { $0.key[0] != "198.18.0.9" }
        XCTAssertEqual(Set(bySource.map { "\($0.key[0]) \($0.events) \($0.packets)" }),
                       Set(try local.topSources(since: 0, limit: 1000).map { "\($0.source) \($0.events) \($0.packets)" }))
        XCTAssertTrue(bySource.contains { $0.key == ["203.0.113.0/24"] && $0.events > 1000 }, "\(bySource.prefix(3))")

        // Per port: `fleet top --by port` and the distributed scans, as `lightscope top --by port`.
        let localPorts = try local.topPorts(since: 0, limit: 100).map { "\($0.proto.rawValue)/\($0.port) \($0.events)" }
        let byPort = try FleetEvents.top(admin, by: .port, filter: onWeb1, limit: 100)
        XCTAssertEqual(Set(byPort.map { "\($0.key[0])/\($0.key[1]) \($0.events - ($0.key[1] == "22" ? 1 : 0))" }), Set(localPorts))
        let distributed = try FleetView.distributedScans(admin, windowSeconds: window, minHosts: 1, minSources: 1)
        XCTAssertEqual(distributed.map(\.events).reduce(0, +), Int64(count) + 2)
        XCTAssertEqual(distributed.first { $0.destinationPort == 22 }?.hosts, 2)

        // The scanners: the networks with every event of theirs; web2's single sources beside them.
        let scanners = try FleetView.scanners(admin, windowSeconds: window, minHosts: 1)
        XCTAssertEqual(scanners.map(\.events).reduce(0, +), Int64(count) + 2)
        let network = try XCTUnwrap(scanners.first { $0.source == "203.0.113.0/24" })
        XCTAssertEqual(network.events, Int64(try local.topSources(since: 0, limit: 1000).first { $0.source == "203.0.113.0/24" }!.events))
        XCTAssertEqual(network.verdicts.map(\.verdict), ["closed"])
        XCTAssertEqual(network.verdicts[0].events, network.events)

        // Each aggregate arrives with its count and samples; a single event counts 1, without samples.
        let local22 = records.filter { $0.aggregated != nil && $0.destinationPort == 22 && $0.source == "203.0.113.0/24" }
        XCTAssertFalse(local22.isEmpty)
        XCTAssertEqual(Set(try server.query("""
            SELECT aggregated || ' ' || array_to_string(samples, ',') FROM lightscope.events
            WHERE src = '203.0.113.0/24' AND dport = 22 AND samples IS NOT NULL
            """).split(separator: "\n").map(String.init)), Set(local22.map { "\($0.aggregated!) \($0.samples!)" }))
        XCTAssertEqual(try server.query("SELECT DISTINCT aggregated FROM lightscope.events WHERE samples IS NULL"), "1")

        // The real command says the same, with no warning: every aggregate came with its count.
        let command = try runLightScope(["fleet", "top", "--by", "host", "--since", "1h", "--json", "--url", try readerURL()])
        XCTAssertEqual(command.status, 0, command.errors)
        XCTAssertEqual(command.output, "{\"host\":\"web1\",\"events\":\(count),\"packets\":\(count)}\n{\"host\":\"web2\",\"events\":2,\"packets\":2}\n")
        XCTAssertFalse(command.errors.contains("warning"), command.errors)

        // `fleet events` shows an aggregate as `lightscope events` does.
        let events = try FleetEvents.events(admin, filter: .init(windowSeconds: window, source: "203.0.113.0/24"), limit: 1)
        XCTAssertEqual(events.events.first?.record.aggregated.map { $0 > 1 }, true)
        XCTAssertEqual(events.events.first?.record.samples?.split(separator: ",").count, 4)
    }

    /// An old host (its LightScope sends no `aggregated` nor `samples`) and a new collector:
    /// its single events still arrive and count 1 each; an aggregate, whose count it cannot
    /// send, is refused with the fix, and with it the whole batch, which stays in the host's
    /// store (counted `fleet` lost only if trimmed). The old shipper's statement is the one of
    /// the last LightScope before the aggregate columns: its column list, sent as that host's role.
    func testAnOldHostsAggregateIsRefusedWithTheFixAndItsEventsCountOne() throws {
        let host = try FleetTestHost(server: server, admin: admin, name: "old1", hostID: HostID("33333333-3333-4333-8333-333333333333")!)
        let url = server.tlsURL(role: host.role) + "&password=" + host.password
        let oldInsert = """
            INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, sport, dst, dport,
                verdict, packets, ttl, "window", tcp_options, ports, addresses, tool, tcp_flags, answer)
            VALUES
            """
        func row(_ id: Int, _ source: String, packets: Int) -> String {
            "('\(host.hostID)', 7, \(id), now() - interval '1 minute', 'eth0', 'tcp', '\(source)', NULL, '192.0.2.1', 23, 'closed', \(packets), NULL, NULL, NULL, NULL, NULL, 'unknown', 'S', NULL)"
        }
        XCTAssertEqual(try server.psql(url, oldInsert + row(1, "198.51.100.7", packets: 1) + ", " + row(2, "198.51.100.8", packets: 1)).status, 0)
        let refused = try server.psql(url, oldInsert + row(3, "198.51.100.9", packets: 1) + ", " + row(4, "203.0.113.0/24", packets: 5000),
                                      allowFailure: true)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("upgrade LightScope on this host"), refused.output)
        XCTAssertTrue(refused.output.contains("203.0.113.0/24"), refused.output)
        XCTAssertEqual(try server.query("SELECT event_id || ' ' || aggregated FROM lightscope.events ORDER BY event_id"), "1 1\n2 1",
                       "the refused statement inserted nothing")
        let byHost = try FleetEvents.top(admin, by: .host, filter: .init(windowSeconds: 3600), limit: 10)
        XCTAssertEqual(byHost.map(\.events), [2])

        // An aggregate that arrived before the migration (no trigger then) counts one: the
        // commands that count say so, naming the host.
        try server.query("""
            SET session_replication_role = replica;
            INSERT INTO lightscope.events (host_id, store_id, event_id, time, interface, proto, src, dst, dport, verdict, packets, received)
            VALUES ('\(host.hostID)', 7, 0, now() - interval '1 minute', 'eth0', 'tcp', '203.0.113.0/24', '192.0.2.1', 23, 'closed', 5000,
                    now() - interval '1 hour')
            """)
        try host.beat(addresses: [])
        let reader = try readerURL()
        for arguments in [["top", "--by", "host"], ["scanners", "--min-hosts", "1"]] {
            let command = try runLightScope(["fleet"] + arguments + ["--since", "1h", "--url", reader])
            XCTAssertEqual(command.status, 0, command.errors)
            XCTAssertTrue(command.errors.contains("warning: aggregate events of a flood that reached the collector before its schema version \(FleetSchema.aggregatesVersion), without how many events each stands for, count as one event each (old1 1)"), command.errors)
        }
    }

    /// A new host and a collector not yet migrated: the shipper ships nothing, names the fix once
    /// and keeps every event; after `fleet init` the aggregates arrive with their counts.
    func testACollectorWithoutTheAggregateColumnsIsToldToUpgradeThenShippedTo() throws {
        let fixture = try FleetFixture(server: server)
        defer { try? FileManager.default.removeItem(atPath: fixture.stateDirectory) }
        let before = FleetSchema.aggregatesVersion - 1
        try server.query("""
            DROP TRIGGER IF EXISTS events_aggregates_have_counts ON lightscope.events;
            ALTER TABLE lightscope.events DROP COLUMN IF EXISTS aggregated, DROP COLUMN IF EXISTS samples;
            DELETE FROM lightscope.schema_migrations WHERE version > \(before)
            """)
        let local = try flood(3_000)
        let records = try local.events(since: 0, limit: 100_000)
        try EventStore(path: fixture.databasePath).insert(records)
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

        XCTAssertEqual(try FleetCollector.initialize(admin), Array(FleetSchema.aggregatesVersion...FleetSchema.latestVersion))
        XCTAssertTrue(fixture.waitForCollector(count: records.count, timeout: 30), "\(fixture.lines.messages())")
        XCTAssertEqual(try server.query("SELECT sum(aggregated) FROM lightscope.events"), "3000")
    }
}
