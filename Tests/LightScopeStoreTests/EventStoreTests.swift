import Glibc
import LightScopeCore
@testable import LightScopeStore
import XCTest

final class EventStoreTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    func testBatchSurvivesReopenFieldForField() throws {
        let records = (0..<200).map { EventRecord(Sample.event($0)) }
        do {
            let store = try EventStore(directory: directory.path)
            try store.insert(records)
        }
        let reopened = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try reopened.count(), 200)
        XCTAssertEqual(try reopened.events(since: 0, limit: 1000), records)
    }

    func testSchemaIsVersionedWALWithIndexes() throws {
        _ = try EventStore(directory: directory.path)
        let connection = try SQLiteConnection(path: directory.file("events.sqlite"), readOnly: true)
        XCTAssertEqual(try connection.scalar("PRAGMA user_version"), .integer(EventStore.schemaVersion))
        XCTAssertEqual(try connection.scalar("PRAGMA journal_mode"), .text("wal"))
        let indexes = try connection.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").rows { $0.value(at: 0).text }
        XCTAssertEqual(indexes, ["events_time", "events_tool", "events_verdict"], "no (src, time) index: each insert paid a random page of it")
    }

    func testNewerSchemaIsRefusedWithTheFix() throws {
        _ = try EventStore(directory: directory.path)
        try SQLiteConnection(path: directory.file("events.sqlite"), readOnly: false).execute("PRAGMA user_version = 99")
        XCTAssertThrowsError(try EventStore(directory: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("schema version 99"), "\(error)")
        }
    }

    func testCommittedRowsAreVisibleToASecondConnectionWhileTheFirstStaysOpen() throws {
        // What a SIGKILL leaves behind is what another process can read now: committed rows are
        // in the WAL on disk, not in this connection's memory.
        let writer = try EventStore(directory: directory.path)
        try writer.insert((0..<10).map { EventRecord(Sample.event($0)) })
        let reader = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try reader.count(), 10)
        try writer.insert((10..<15).map { EventRecord(Sample.event($0)) })
        XCTAssertEqual(try reader.count(), 15)
        withExtendedLifetime(writer) {}
    }

    func testRetentionDeletesOnlyOldEventsInChunks() throws {
        let store = try EventStore(directory: directory.path)
        let old = (0..<25).map { EventRecord(Sample.event($0, timeNanos: 1_000 + UInt64($0))) }
        let recent = (25..<30).map { EventRecord(Sample.event($0)) }
        try store.insert(old + recent)
        XCTAssertEqual(try store.deleteEvents(before: 1_000_000, limit: 10).events, 10)
        XCTAssertEqual(try store.deleteEvents(before: 1_000_000, limit: 10).events, 10)
        XCTAssertEqual(try store.deleteEvents(before: 1_000_000, limit: 10).events, 5)
        XCTAssertEqual(try store.deleteEvents(before: 1_000_000, limit: 10).events, 0)
        XCTAssertEqual(try store.events(since: 0, limit: 100), recent)
    }

    func testMaxEventsKeepsTheNewest() throws {
        let store = try EventStore(directory: directory.path)
        let records = (0..<50).map { EventRecord(Sample.event($0)) }
        try store.insert(records)
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 20, limit: 1000).events, 30)
        XCTAssertEqual(try store.events(since: 0, limit: 100), Array(records.suffix(20)))
        XCTAssertEqual(try store.deleteEvents(beyondNewest: 20, limit: 1000).events, 0)
    }

    func testReadersFilterCountAndRank() throws {
        let store = try EventStore(directory: directory.path)
        let records = (0..<40).map { EventRecord(Sample.event($0)) }
        try store.insert(records)
        let since = records[20].timeNanos
        XCTAssertEqual(try store.events(since: since, limit: 3), Array(records[37...]))
        XCTAssertEqual(try store.events(since: 0, verdict: .portscan, limit: 100), records.filter { $0.verdict == .portscan })
        XCTAssertEqual(try store.countsByVerdict(since: since), [.closed: 5, .unanswered: 5, .portscan: 5, .addrscan: 5, .unfiltered: 0, .backscatter: 0, .slowscan: 0])
        try store.insert([EventRecord(Sample.event(0)), EventRecord(Sample.event(0))])
        let top = try store.topSources(since: 0, limit: 2)
        XCTAssertEqual(top.first, EventStore.SourceCount(source: "203.0.113.0", events: 3, packets: 3))
        let ports = try store.topPorts(since: 0, limit: 10)
        XCTAssertEqual(ports.map(\.events).reduce(0, +), 42 - 10, "portscans carry no single port")
        XCTAssertEqual(ports.first?.events, ports.map(\.events).max())
    }

    /// Symbolic links planted where the store or its log and index would be are refused, never
    /// followed: run as root, following one would overwrite the file it points at.
    func testSymbolicLinksInPlaceOfTheStoreFilesAreNotFollowed() throws {
        let victim = directory.file("victim")
        let original = "root's file\n"
        try original.write(toFile: victim, atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink(victim, directory.file("events.sqlite")), 0)
        XCTAssertThrowsError(try EventStore(directory: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("is a symbolic link, which LightScope never follows"), "\(error)")
            XCTAssertTrue("\(error)".contains("rm \(self.directory.file("events.sqlite"))"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), original)

        unlink(directory.file("events.sqlite"))
        _ = try EventStore(directory: directory.path)  // a real store; closing it removes -wal and -shm
        for suffix in ["-wal", "-shm"] {
            XCTAssertEqual(symlink(victim, directory.file("events.sqlite" + suffix)), 0)
            XCTAssertThrowsError(try EventStore(directory: directory.path).insert([EventRecord(Sample.event(1))]), suffix)
            XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), original, suffix)
            unlink(directory.file("events.sqlite" + suffix))
        }
    }

    func testStoreFilesAreReadableByTheDirectorysGroupWhateverTheUmask() throws {
        let previous = umask(0o077)
        defer { umask(previous) }
        let store = try EventStore(directory: directory.path)
        try store.insert([EventRecord(Sample.event(1))])
        for suffix in ["", "-wal", "-shm"] {
            var status = stat()
            XCTAssertEqual(stat(directory.file("events.sqlite" + suffix), &status), 0, suffix)
            XCTAssertEqual(status.st_mode & 0o777, 0o640, suffix)
        }
    }

    func testOpeningWhereNoDirectoryIsSaysHowToFixIt() {
        XCTAssertThrowsError(try EventStore(directory: directory.file("missing"))) { error in
            let error = error as! StoreError
            XCTAssertTrue(error.isStorageUnavailable)
            XCTAssertTrue(error.message.contains("--state-dir"), error.message)
        }
    }
}
