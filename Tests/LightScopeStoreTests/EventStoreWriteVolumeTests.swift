import CSQLite
import Foundation
import LightScopeCore
import LightScopeTestSupport
@testable import LightScopeStore
import XCTest

/// What the writer writes to disk per batch: each page once into the write-ahead log, nothing
/// beside it. A statement journal (SQLite's copy of every page a statement changes, kept so
/// that one failed statement can be undone inside its transaction) wrote about 2.3 KB per
/// single event beside the log's 0.2 KB, more than all of a flood's blocks (bench/HISTORY.md,
/// session 14, writer).
final class EventStoreWriteVolumeTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    func testBatchOfSingleEventsWritesOnlyTheLogsNewFrames() throws {
        let store = try EventStore(directory: directory.path)
        // A store with pages already: the second batch changes pages that existed before it.
        try store.insert((0..<1024).map { EventRecord(Sample.event($0)) })
        let logBefore = try fileBytes(directory.file("events.sqlite-wal"))
        let writtenBefore = try bytesWrittenByProcess()
        try store.insert((1024..<2048).map { EventRecord(Sample.event($0)) })
        let written = try bytesWrittenByProcess() - writtenBefore
        let logGrowth = try fileBytes(directory.file("events.sqlite-wal")) - logBefore
        XCTAssertGreaterThan(logGrowth, 0, "the batch went into the log, not through a checkpoint")
        XCTAssertEqual(written, logGrowth, "every byte written is a new frame of the log")
    }

    func testFailedStatementLeavesNoneOfItsBatch() throws {
        let store = try EventStore(directory: directory.path)
        try store.insert((0..<20).map { EventRecord(Sample.event($0)) })
        // The batch's 17th row fails in the second 16-row statement, after the first one went
        // in: the whole transaction goes, the first statement's rows with it.
        try store.connection.execute("CREATE TRIGGER refuse_one BEFORE INSERT ON events WHEN new.packets = 99 BEGIN SELECT RAISE(ABORT, 'refused'); END")
        var records = (20..<60).map { EventRecord(Sample.event($0)) }
        records[16].packets = 99
        XCTAssertThrowsError(try store.insert(records))
        XCTAssertFalse(store.connection.isInTransaction)
        XCTAssertEqual(try store.count(), 20)
        try store.connection.execute("DROP TRIGGER refuse_one")
        try store.insert(Array(records[0..<16]))
        XCTAssertEqual(try store.count(), 36, "the store takes the next batch")
    }

    func testTextsBeyondTheBindingArenaAreStoredWhole() throws {
        let store = try EventStore(directory: directory.path)
        // 16 rows of texts longer than the arena together: the later ones take SQLite's copy.
        var records = (0..<80).map { EventRecord(Sample.event($0)) }
        for index in records.indices where index % 3 == 0 {
            records[index].samples = String(repeating: "203.0.113.\(index % 10),", count: SQLiteStatement.textArenaBytes / 100)
        }
        try store.insert(Array(records[0..<40]))
        try store.insert(Array(records[40...]))
        let reopened = try EventStore(directory: directory.path, readOnly: true)
        let stored = try reopened.events(since: 0, limit: 100)
        XCTAssertEqual(stored.count, records.count)
        XCTAssertTrue(stored == records, "every text read back as it was bound")
    }

    func testLogKeepsItsFileAcrossAFloodsCheckpoints() throws {
        let store = try EventStore(directory: directory.path)
        let limit = try store.connection.scalar("PRAGMA journal_size_limit").integer ?? 0
        XCTAssertEqual(limit, Int64(StoreLimits.logKeptBytes))
        let blockTransactionBytes = EventPipeline.blocksPerTransaction * AggregateBlock.maximumEntries * 10
        XCTAssertGreaterThan(StoreLimits.logKeptBytes, StoreLimits.logCheckpointBytes + blockTransactionBytes,
                             "a flood's log is never cut back below its last transaction's overshoot")
        XCTAssertLessThanOrEqual(StoreLimits.logKeptBytes + StoreLimits.transactionLogBytes + (64 << 10), StoreLimits.logReserveBytes,
                                 "a log kept at its size asks for no extra checkpoint")
    }

    func testSQLiteKeepsNoMemoryStatistics() throws {
        let store = try EventStore(directory: directory.path)
        try store.insert((0..<100).map { EventRecord(Sample.event($0)) })
        XCTAssertEqual(sqlite3_memory_used(), 0, "no statistics: no process-wide mutex around each of SQLite's allocations")
    }

    /// `wchar` of /proc/self/io: every byte this process has passed to write(2) and pwrite(2).
    private func bytesWrittenByProcess() throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/io", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("wchar:") }),
              let bytes = Int(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces)) else {
            throw TestFailure("no wchar in /proc/self/io")
        }
        return bytes
    }

    private func fileBytes(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }
}
