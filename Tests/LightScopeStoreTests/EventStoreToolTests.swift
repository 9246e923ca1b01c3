@testable import LightScopeStore
import LightScopeCore
import XCTest

/// The `tool` column (schema version 3): a store of version 1 or 2, as the daemons before it
/// wrote them, is upgraded in place with nothing lost; readers filter and rank by tool.
final class EventStoreToolTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    /// Version 1 exactly as it shipped, with two events in it.
    private func makeVersionOneStore() throws -> [EventRecord] {
        let connection = try SQLiteConnection(path: directory.file(EventStore.fileName), readOnly: false)
        try connection.execute("""
            PRAGMA journal_mode = WAL;
            CREATE TABLE events (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, interface TEXT NOT NULL, proto TEXT NOT NULL,
                src TEXT NOT NULL, sport INTEGER, dst TEXT, dport INTEGER, verdict TEXT NOT NULL, packets INTEGER NOT NULL,
                ttl INTEGER, window INTEGER, tcp_options TEXT, ports INTEGER, addresses INTEGER);
            CREATE INDEX events_time ON events (time_ns);
            CREATE INDEX events_src ON events (src, time_ns);
            CREATE INDEX events_verdict ON events (verdict, time_ns);
            PRAGMA user_version = 1;
            INSERT INTO events (time_ns, interface, proto, src, sport, dst, dport, verdict, packets, ttl, window, tcp_options)
                VALUES (1000, 'eth0', 'tcp', '203.0.113.7', 51234, '192.0.2.1', 23, 'closed', 1, 54, 64240, 'M1460');
            INSERT INTO events (time_ns, interface, proto, src, verdict, packets, ports)
                VALUES (2000, 'eth0', 'tcp', '203.0.113.7', 'portscan', 15, 15);
            """)
        return [
            EventRecord(timeNanos: 1000, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: 51234, destination: "192.0.2.1",
                        destinationPort: 23, verdict: .closed, packets: 1, ttl: 54, tcpWindow: 64240, tcpOptions: "M1460"),
            EventRecord(timeNanos: 2000, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: nil, destination: nil,
                        destinationPort: nil, verdict: .portscan, packets: 15, ports: 15),
        ]
    }

    func testAVersionOneStoreIsUpgradedKeepingEveryEventAsUnknown() throws {
        let old = try makeVersionOneStore()
        var nmap = EventRecord(Sample.event(0, timeNanos: 3000))
        nmap.tool = .nmap
        do {
            let store = try EventStore(directory: directory.path)
            try store.insert([nmap])
        }
        let reopened = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try reopened.events(since: 0), old + [nmap])
        XCTAssertEqual(try reopened.connection.scalar("PRAGMA user_version"), .integer(EventStore.schemaVersion))
        XCTAssertGreaterThanOrEqual(EventStore.schemaVersion, 3)
        XCTAssertEqual(try reopened.events(since: 0, tool: .unknown), old)
    }

    /// Version 2 exactly as the fleet shipper's daemon wrote it: ids with gaps, a store id and a cursor.
    private func makeVersionTwoStore() throws -> [EventStore.SpooledEvent] {
        let connection = try SQLiteConnection(path: directory.file(EventStore.fileName), readOnly: false)
        try connection.execute("""
            PRAGMA journal_mode = WAL;
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ns INTEGER NOT NULL, interface TEXT NOT NULL,
                proto TEXT NOT NULL, src TEXT NOT NULL, sport INTEGER, dst TEXT, dport INTEGER, verdict TEXT NOT NULL,
                packets INTEGER NOT NULL, ttl INTEGER, window INTEGER, tcp_options TEXT, ports INTEGER, addresses INTEGER);
            CREATE INDEX events_time ON events (time_ns);
            CREATE INDEX events_src ON events (src, time_ns);
            CREATE INDEX events_verdict ON events (verdict, time_ns);
            CREATE TABLE store_info (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO store_info VALUES ('store_id', 7340032), ('fleet_shipped_through', 4);
            PRAGMA user_version = 2;
            INSERT INTO events (id, time_ns, interface, proto, src, sport, dst, dport, verdict, packets, ttl, window, tcp_options)
                VALUES (4, 1000, 'eth0', 'tcp', '203.0.113.7', 51234, '192.0.2.1', 23, 'closed', 1, 54, 64240, 'M1460');
            INSERT INTO events (id, time_ns, interface, proto, src, verdict, packets, ports)
                VALUES (9, 2000, 'eth0', 'tcp', '203.0.113.7', 'portscan', 15, 15);
            """)
        return [
            EventStore.SpooledEvent(id: 4, record: EventRecord(
                timeNanos: 1000, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: 51234, destination: "192.0.2.1",
                destinationPort: 23, verdict: .closed, packets: 1, ttl: 54, tcpWindow: 64240, tcpOptions: "M1460")),
            EventStore.SpooledEvent(id: 9, record: EventRecord(
                timeNanos: 2000, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: nil, destination: nil,
                destinationPort: nil, verdict: .portscan, packets: 15, ports: 15)),
        ]
    }

    /// The fleet's version 2 goes to the latest keeping what names its events on the collector: their
    /// ids, the store id and the shipper's cursor; new ids still never reuse a deleted one.
    func testAVersionTwoStoreIsUpgradedKeepingIdsStoreIDAndCursor() throws {
        let old = try makeVersionTwoStore()
        let store = try EventStore(directory: directory.path)
        XCTAssertEqual(try store.connection.scalar("PRAGMA user_version"), .integer(EventStore.schemaVersion))
        XCTAssertEqual(try store.events(after: 0, limit: 10), old)
        XCTAssertEqual(try store.events(since: 0, tool: .unknown), old.map(\.record))
        XCTAssertEqual(try store.storeID(), 7_340_032)
        XCTAssertEqual(try store.shippedThrough(), 4)
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 0, limit: 10), EventStore.Deletion(events: 2, undelivered: 1))
        var nmap = EventRecord(Sample.event(0, timeNanos: 3000))
        nmap.tool = .nmap
        try store.insert([nmap])
        XCTAssertEqual(try store.events(after: 4, limit: 10), [EventStore.SpooledEvent(id: 10, record: nmap)])
    }

    /// A reader opens read-only and cannot upgrade: until the daemon's next start it reads an
    /// older store as it is, every event from an `unknown` tool, and leaves the file unchanged.
    func testAReaderReadsAnOlderStoreAsItIs() throws {
        let versionOne = try makeVersionOneStore()
        var reader = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try reader.events(since: 0), versionOne)
        XCTAssertEqual(try reader.events(since: 0, tool: .nmap), [])
        XCTAssertEqual(try reader.topTools(since: 0), [EventStore.ToolCount(tool: "unknown", events: 2, packets: 16)])
        XCTAssertEqual(try reader.connection.scalar("PRAGMA user_version"), .integer(1))

        directory.remove()
        directory = try TemporaryDirectory()
        let versionTwo = try makeVersionTwoStore()
        reader = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try reader.events(since: 0, tool: .unknown), versionTwo.map(\.record))
        XCTAssertEqual(try reader.count(), 2)
        XCTAssertEqual(try reader.connection.scalar("PRAGMA user_version"), .integer(2))
    }

    func testReadersFilterAndRankByTool() throws {
        let store = try EventStore(directory: directory.path)
        let tools: [ScanTool] = [.unknown, .nmap, .masscan, .nmap, .unknown, .nmap]
        let records = tools.enumerated().map { index, tool in
            var record = EventRecord(Sample.event(index))
            record.tool = tool
            return record
        }
        try store.insert(records)
        XCTAssertEqual(try store.events(since: 0, tool: .nmap), records.filter { $0.tool == .nmap })
        XCTAssertEqual(try store.events(since: 0, verdict: .unanswered, tool: .nmap), [records[1], records[5]])
        XCTAssertEqual(try store.events(since: 0, tool: .zmap), [])
        let packets = { (tool: ScanTool) in records.filter { $0.tool == tool }.map { Int($0.packets) }.reduce(0, +) }
        XCTAssertEqual(try store.topTools(since: 0), [
            EventStore.ToolCount(tool: "nmap", events: 3, packets: packets(.nmap)),
            EventStore.ToolCount(tool: "unknown", events: 2, packets: packets(.unknown)),
            EventStore.ToolCount(tool: "masscan", events: 1, packets: packets(.masscan)),
        ])
    }
}
