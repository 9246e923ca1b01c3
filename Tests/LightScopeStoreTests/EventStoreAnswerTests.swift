@testable import LightScopeStore
import LightScopeCore
import XCTest

/// The `answer` column of backscatter events: a store of the version before it, as the
/// daemons wrote it, is upgraded in place with nothing lost, and an older store reads as it is.
final class EventStoreAnswerTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    /// The version with tools but no answers, exactly as it shipped, with one event in it.
    private func makeStoreWithoutAnswers() throws -> EventRecord {
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
            INSERT INTO store_info VALUES ('store_id', 7340032), ('fleet_shipped_through', 0);
            PRAGMA user_version = 3;
            INSERT INTO events (time_ns, interface, proto, src, sport, dst, dport, verdict, packets, ttl, tool)
                VALUES (1000, 'eth0', 'tcp', '203.0.113.7', 51234, '192.0.2.1', 23, 'closed', 1, 54, 'nmap');
            """)
        return EventRecord(timeNanos: 1000, interface: "eth0", proto: .tcp, source: "203.0.113.7", sourcePort: 51234,
                           destination: "192.0.2.1", destinationPort: 23, verdict: .closed, packets: 1, ttl: 54, tool: .nmap)
    }

    private func backscatter(_ answer: BackscatterAnswer, timeNanos: UInt64) -> EventRecord {
        EventRecord(timeNanos: timeNanos, interface: "eth0", proto: .tcp, source: "198.51.100.20", sourcePort: 80,
                    destination: "192.0.2.1", destinationPort: 40112, verdict: .backscatter, packets: 412, ttl: 52, answer: answer)
    }

    func testAStoreWithoutAnswersIsUpgradedKeepingItsEvents() throws {
        let old = try makeStoreWithoutAnswers()
        let store = try EventStore(directory: directory.path)
        XCTAssertEqual(try store.connection.scalar("PRAGMA user_version"), .integer(EventStore.schemaVersion))
        let new = BackscatterAnswer.allCases.enumerated().map { backscatter($1, timeNanos: 2000 + UInt64($0)) }
        try store.insert(new)
        XCTAssertEqual(try store.events(since: 0), [old] + new)
        XCTAssertEqual(try store.events(since: 0, verdict: .backscatter).map(\.answer), BackscatterAnswer.allCases)
        XCTAssertEqual(try store.storeID(), 7_340_032)
    }

    func testAReaderReadsAStoreWithoutAnswersAsItIs() throws {
        let old = try makeStoreWithoutAnswers()
        let reader = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try reader.events(since: 0), [old])
        XCTAssertEqual(try reader.connection.scalar("PRAGMA user_version"), .integer(3))
    }
}
