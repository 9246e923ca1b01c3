import LightScopeCore
@testable import LightScopeStore
import XCTest

/// The store as the fleet shipper's spool: ids that never come back, a store id, a cursor that
/// only moves forward, and retention that counts what it removes undelivered.
final class EventSpoolTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    func testIdsAreNeverReusedAfterRetentionEmptiesTheStore() throws {
        let store = try EventStore(directory: directory.path)
        try store.insert((0..<20).map { EventRecord(Sample.event($0)) })
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 0, limit: 100), 20)
        XCTAssertEqual(try store.count(), 0)
        try store.insert((20..<25).map { EventRecord(Sample.event($0)) })
        XCTAssertEqual(try store.events(after: 0, limit: 100).map(\.id), Array(21...25))
    }

    func testEachNewStoreDrawsItsOwnIdAndKeepsIt() throws {
        let first = try EventStore(directory: directory.path).storeID()
        XCTAssertEqual(try EventStore(directory: directory.path).storeID(), first)
        let other = try TemporaryDirectory()
        defer { other.remove() }
        XCTAssertNotEqual(try EventStore(directory: other.path).storeID(), first)
    }

    func testCursorOnlyMovesForwardAndSurvivesReopen() throws {
        do {
            let store = try EventStore(directory: directory.path)
            try store.insert((0..<10).map { EventRecord(Sample.event($0)) })
            XCTAssertEqual(try store.shippedThrough(), 0)
            try store.markShipped(through: 7)
            try store.markShipped(through: 3)
        }
        let reopened = try EventStore(directory: directory.path)
        XCTAssertEqual(try reopened.shippedThrough(), 7)
        XCTAssertEqual(try reopened.events(after: 7, limit: 100).map(\.id), [8, 9, 10])
        let pending = try reopened.unshipped()
        XCTAssertEqual(pending.events, 3)
        XCTAssertEqual(pending.oldestTimeNanos, Sample.event(7).timeNanos)
        try reopened.markShipped(through: 10)
        XCTAssertEqual(try reopened.unshipped().events, 0)
        XCTAssertNil(try reopened.unshipped().oldestTimeNanos)
    }

    func testSpooledEventsCarryEveryField() throws {
        let records = (0..<8).map { EventRecord(Sample.event($0)) }
        let store = try EventStore(directory: directory.path)
        try store.insert(records)
        XCTAssertEqual(try store.events(after: 2, limit: 3).map(\.record), Array(records[2..<5]))
    }

    func testVersionOneStoreIsMigratedWithItsRowsAndIds() throws {
        let path = directory.file(EventStore.fileName)
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false)
            try connection.execute("""
                CREATE TABLE events (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, interface TEXT NOT NULL,
                    proto TEXT NOT NULL, src TEXT NOT NULL, sport INTEGER, dst TEXT, dport INTEGER, verdict TEXT NOT NULL,
                    packets INTEGER NOT NULL, ttl INTEGER, window INTEGER, tcp_options TEXT, ports INTEGER, addresses INTEGER);
                CREATE INDEX events_time ON events (time_ns);
                CREATE INDEX events_src ON events (src, time_ns);
                CREATE INDEX events_verdict ON events (verdict, time_ns);
                INSERT INTO events (id, time_ns, interface, proto, src, verdict, packets) VALUES
                    (5, 1000, 'eth0', 'tcp', '203.0.113.7', 'closed', 1), (9, 2000, 'eth0', 'tcp', '203.0.113.8', 'closed', 1);
                PRAGMA user_version = 1;
                """)
        }
        XCTAssertEqual(try EventStore(path: path, readOnly: true).count(), 2, "readers keep reading a version 1 store")
        let store = try EventStore(path: path)
        XCTAssertEqual(try store.events(after: 0, limit: 10).map(\.id), [5, 9])
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 0, limit: 10), 2)
        try store.insert([EventRecord(Sample.event(1))])
        XCTAssertEqual(try store.events(after: 0, limit: 10).map(\.id), [10], "ids continue after the migrated ones")
        XCTAssertNotEqual(try store.storeID(), 0)
    }

    func testRetentionCountsUndeliveredEventsOnlyWhileShipping() throws {
        let store = try EventStore(directory: directory.path)
        try store.insert((0..<30).map { EventRecord(Sample.event($0)) })
        try store.markShipped(through: 10)
        var unshipped = 0
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 15, limit: 100, countingUnshipped: true, into: &unshipped), 15)
        XCTAssertEqual(unshipped, 5, "ids 11-15 were removed before delivery")
        var notCounted = 0
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 10, limit: 100, countingUnshipped: false, into: &notCounted), 5)
        XCTAssertEqual(notCounted, 0)
    }

    func testWriterCountsRetentionOfUndeliveredEventsAsFleetLossAndLogsOncePerEpisode() throws {
        var settings = Settings.Store()
        settings.maxEvents = 1000
        let loss = FleetRetentionLoss()
        loss.isShipping = true
        let lines = LogCollector()
        let writer = EventWriter(databasePath: directory.file(EventStore.fileName), settings: settings, anonymiser: .disabled,
                                 journal: nil, counters: EventCounters(), fleetLoss: loss, log: lines.log)
        writer.write((0..<1500).map { Sample.event($0) }, monotonicNanos: 1)
        try XCTUnwrap(writer.store).markShipped(through: 200)
        writer.applyRetentionIfDue(wallClockNanos: Sample.baseNanos, monotonicNanos: 1) {}
        XCTAssertEqual(loss.eventsLost, 300, "ids 201-500 went undelivered")
        writer.write((0..<100).map { Sample.event($0) }, monotonicNanos: 2)
        writer.applyRetentionIfDue(wallClockNanos: Sample.baseNanos, monotonicNanos: 1 + UInt64(EventWriter.retentionInterval.nanoseconds)) {}
        XCTAssertEqual(loss.eventsLost, 400)
        XCTAssertEqual(lines.messages(.warning).filter { $0.contains("fleet collector had not received") }.count, 1,
                       "one line per episode: \(lines.messages(.warning))")
    }
}
