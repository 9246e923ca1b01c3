import LightScopeCore
@testable import LightScopeStore
import LightScopeTestSupport
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
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 0, limit: 100).events, 20)
        XCTAssertEqual(try store.count(), 0)
        try store.insert((20..<25).map { EventRecord(Sample.event($0)) })
        XCTAssertEqual(try store.events(after: 0, limit: 100).map(\.id), Array(21...25))
    }

    /// A batch goes in 16 events per INSERT and its tail one by one: every event, every field,
    /// ids in the batch's order.
    func testABatchKeepsItsOrderAndFieldsAcrossMultiRowInserts() throws {
        let store = try EventStore(directory: directory.path)
        let count = EventStore.rowsPerInsert * 2 + 7
        let records = (0..<count).map { index in
            var record = EventRecord(Sample.event(index))
            record.sourcePort = index % 3 == 0 ? nil : UInt16(index)
            record.answer = index % 5 == 0 ? .rst : nil
            return record
        }
        try store.insert(records)
        let stored = try store.events(after: 0, limit: 1000)
        XCTAssertEqual(stored.map(\.id), (1...Int64(count)).map { $0 })
        XCTAssertEqual(stored.map(\.record), records)
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

    /// The writer and the shipper each hold a connection in one process. Opening the second
    /// must not drop the first one's file locks (POSIX locks go with any close of the file):
    /// another process would then take itself for the last user, checkpoint and remove the log
    /// under the first connection, which then read an empty store or "file is not a database".
    func testASecondConnectionKeepsTheFirstOnesLocks() throws {
        let path = directory.file(EventStore.fileName)
        let writer = try EventStore(path: path)
        try writer.insert((0..<10).map { EventRecord(Sample.event($0)) })
        let shipper = try EventStore(path: path)
        try shell(["python3", "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE store_info SET value = 4 WHERE key = 'fleet_shipped_through'\"); c.commit(); c.close()", path])
        try writer.insert((10..<20).map { EventRecord(Sample.event($0)) })
        XCTAssertEqual(try shipper.shippedThrough(), 4)
        XCTAssertEqual(try shipper.events(after: 4, limit: 100).map(\.id), Array(5...20))
        XCTAssertEqual(try EventStore(path: path, readOnly: true).count(), 20)
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
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 0, limit: 10).events, 2)
        try store.insert([EventRecord(Sample.event(1))])
        XCTAssertEqual(try store.events(after: 0, limit: 10).map(\.id), [10], "ids continue after the migrated ones")
        XCTAssertNotEqual(try store.storeID(), 0)
    }

    func testDeletionsSayHowManyWereNotDeliveredYet() throws {
        let store = try EventStore(directory: directory.path)
        try store.insert((0..<30).map { EventRecord(Sample.event($0)) })
        try store.markShipped(through: 10)
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 15, limit: 100), EventStore.Deletion(events: 15, undelivered: 5),
                       "ids 11-15 were removed before delivery")
        XCTAssertEqual(try store.deleteOldest(limit: 3), EventStore.Deletion(events: 3, undelivered: 3))
        try store.markShipped(through: 30)
        XCTAssertEqual(try store.deleteEvents(before: .max, limit: 100), EventStore.Deletion(events: 12, undelivered: 0))
    }

    /// One count per lost event: while a shipper is configured, an event removed before it was
    /// delivered is lost to the fleet, whatever removed it; a delivered one deleted before
    /// retention_days is lost locally (disk) as without a shipper; an expired delivered one is no loss.
    func testWriterCountsEachRemovedEventOnceByReason() throws {
        let (writer, lost) = writer(maxEvents: 1000, shipping: true)
        let now = Sample.baseNanos
        writer.write((0..<1500).map { Sample.event($0, timeNanos: now) }, monotonicNanos: 1)
        try XCTUnwrap(writer.store).markShipped(through: 200)
        writer.maintain(wallClockNanos: now, monotonicNanos: 1, shouldYield: { false }) {}
        XCTAssertEqual(lost[.fleet], 300, "ids 201-500 went undelivered")
        XCTAssertEqual(lost[.disk], 200, "ids 1-200 were delivered, then deleted before retention_days")

        // Ids 1501-1600 are past retention_days; the collector has them up to 1550.
        writer.write((0..<100).map { Sample.event($0, timeNanos: now - 2 * 86_400 * 1_000_000_000) }, monotonicNanos: 2)
        try XCTUnwrap(writer.store).markShipped(through: 1550)
        writer.maintain(wallClockNanos: now, monotonicNanos: 2, shouldYield: { false }) {}
        XCTAssertEqual(try writer.store!.count(), 900)
        XCTAssertEqual(lost[.disk], 200 + 100, "ids 501-600, delivered, made room under max_events")
        XCTAssertEqual(lost[.fleet], 300 + 50, "ids 1551-1600 expired undelivered; 1501-1550 expired as retention_days says")
    }

    func testWithoutAShipperNothingIsUndelivered() throws {
        let (writer, lost) = writer(maxEvents: 1000, shipping: false)
        writer.write((0..<1500).map { Sample.event($0) }, monotonicNanos: 1)
        writer.maintain(wallClockNanos: Sample.baseNanos, monotonicNanos: 1, shouldYield: { false }) {}
        XCTAssertEqual(lost[.disk], 500)
        XCTAssertEqual(lost[.fleet], 0)
    }

    private func writer(maxEvents: Int, shipping: Bool) -> (EventWriter, LostEvents) {
        var settings = Settings.Store()
        settings.maxEvents = maxEvents
        settings.retentionDays = 1
        let lost = LostEvents()
        let writer = EventWriter(databasePath: directory.file(EventStore.fileName), settings: settings, anonymiser: .disabled,
                                 journal: nil, counters: EventCounters(lost: lost), log: { _, _ in })
        writer.isFleetShipping = shipping
        return (writer, lost)
    }
}
