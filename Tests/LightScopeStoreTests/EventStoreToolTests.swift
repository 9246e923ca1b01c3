@testable import LightScopeStore
import LightScopeCore
import XCTest

/// The `tool` column (schema version 2): a store of version 1, as the daemon before it wrote
/// it, is upgraded in place with nothing lost; readers filter and rank by tool.
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
        XCTAssertEqual(try reopened.events(since: 0, tool: .unknown), old)
    }

    /// A reader cannot upgrade (it opens read-only): it says how the store gets upgraded.
    func testAReaderOfAVersionOneStoreIsToldToRestartTheDaemon() throws {
        _ = try makeVersionOneStore()
        XCTAssertThrowsError(try EventStore(directory: directory.path, readOnly: true)) { error in
            XCTAssertTrue("\(error)".contains("schema version 1, older than"), "\(error)")
            XCTAssertTrue("\(error)".contains("systemctl restart lightscope"), "\(error)")
        }
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
