@testable import LightScopeStore
import LightScopeCore
import XCTest

/// The `tcp_flags` column (`EventStore.tcpFlagsVersion`): a store of version 3, as the daemon
/// before it wrote one, is upgraded in place with nothing lost, its events without flags;
/// a reader reads such a store as it is; new events keep their flags, a NULL probe's empty.
final class EventStoreFlagsTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    /// Version 3 exactly as it shipped, with two events in it.
    private func makeVersionThreeStore() throws -> [EventStore.SpooledEvent] {
        let connection = try SQLiteConnection(path: directory.file(EventStore.fileName), readOnly: false)
        try connection.execute("""
            PRAGMA journal_mode = WAL;
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ns INTEGER NOT NULL, interface TEXT NOT NULL,
                proto TEXT NOT NULL, src TEXT NOT NULL, sport INTEGER, dst TEXT, dport INTEGER, verdict TEXT NOT NULL,
                packets INTEGER NOT NULL, ttl INTEGER, window INTEGER, tcp_options TEXT, ports INTEGER, addresses INTEGER,
                tool TEXT NOT NULL DEFAULT 'unknown');
            CREATE INDEX events_time ON events (time_ns);
            CREATE INDEX events_src ON events (src, time_ns);
            CREATE INDEX events_verdict ON events (verdict, time_ns);
            CREATE INDEX events_tool ON events (tool, time_ns);
            CREATE TABLE store_info (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO store_info VALUES ('store_id', 7340032), ('fleet_shipped_through', 4);
            PRAGMA user_version = 3;
            INSERT INTO events (id, time_ns, interface, proto, src, sport, dst, dport, verdict, packets, ttl, window, tcp_options, tool)
                VALUES (4, 1000, 'eth0', 'tcp', '203.0.113.7', 51234, '192.0.2.1', 23, 'closed', 1, 54, 1024, 'M1460', 'nmap');
            INSERT INTO events (id, time_ns, interface, proto, src, verdict, packets, ports)
                VALUES (9, 2000, 'eth0', 'tcp', '203.0.113.7', 'portscan', 15, 15);
            """)
        return [
            EventStore.SpooledEvent(id: 4, record: EventRecord(
                timeNanos: 1000, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: 51234, destination: "192.0.2.1",
                destinationPort: 23, verdict: .closed, packets: 1, ttl: 54, tcpWindow: 1024, tcpOptions: "M1460", tool: .nmap)),
            EventStore.SpooledEvent(id: 9, record: EventRecord(
                timeNanos: 2000, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: nil, destination: nil,
                destinationPort: nil, verdict: .portscan, packets: 15, ports: 15)),
        ]
    }

    func testAVersionThreeStoreIsUpgradedKeepingEveryEventWithoutFlags() throws {
        let old = try makeVersionThreeStore()
        let store = try EventStore(directory: directory.path)
        XCTAssertEqual(try store.connection.scalar("PRAGMA user_version"), .integer(EventStore.schemaVersion))
        XCTAssertEqual(try store.events(after: 0, limit: 10), old)
        XCTAssertEqual(try store.storeID(), 7_340_032)
        XCTAssertEqual(try store.shippedThrough(), 4)
        var xmas = EventRecord(Sample.event(1, timeNanos: 3000))
        xmas.tcpFlags = "FPU"
        var null = EventRecord(Sample.event(1, timeNanos: 4000))
        null.tcpFlags = ""
        try store.insert([xmas, null])
        XCTAssertEqual(try store.events(after: 9, limit: 10).map(\.record), [xmas, null], "a NULL probe's flags stay empty, not absent")
    }

    func testAReaderReadsAVersionThreeStoreAsItIs() throws {
        let old = try makeVersionThreeStore()
        let reader = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try reader.events(since: 0), old.map(\.record))
        XCTAssertEqual(try reader.events(since: 0, tool: .nmap), [old[0].record])
        XCTAssertEqual(try reader.connection.scalar("PRAGMA user_version"), .integer(3))
    }

    /// The flags an engine event carries are the letters in the store, JSON and the journal.
    func testFlagsAreWrittenAsLettersEverywhere() throws {
        let event = UnwantedEvent(timeNanos: 1000, interface: "eth0", proto: .tcp, source: IPAddress("203.0.113.7")!,
                                  sourcePort: 40000, destination: IPAddress("192.0.2.1")!, destinationPort: 25,
                                  verdict: .unanswered, packets: 1, tcpFlags: [.fin, .psh, .urg])
        let record = EventRecord(event)
        XCTAssertEqual(record.tcpFlags, "FPU")
        XCTAssertTrue(EventJSON.encode(record).hasSuffix(#""tool":"unknown","tcp_flags":"FPU"}"#), EventJSON.encode(record))
        XCTAssertEqual(try EventJSON.decode(EventJSON.encode(record)), record)
        XCTAssertTrue(JournalFields.fields(for: record).contains("LIGHTSCOPE_TCP_FLAGS=FPU"))
        XCTAssertEqual(EventLine.text(record), "unwanted tcp 203.0.113.7:40000 -> 192.0.2.1:25 unanswered (1 packet, flags FPU)")
        let store = try EventStore(directory: directory.path)
        try store.insert([record])
        XCTAssertEqual(try store.events(since: 0), [record])
    }
}
