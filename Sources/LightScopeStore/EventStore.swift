import LightScopeCore

/// The local event store: one SQLite file, `events.sqlite`, in the state directory.
///
/// WAL mode with synchronous=NORMAL: a commit is one append to the write-ahead log, without an
/// fsync per transaction, and a committed transaction survives a crash or SIGKILL of the
/// daemon (only a power cut can take the last transactions). Readers such as the CLI or
/// `sqlite3` read while the daemon writes. Used from one thread at a time.
public final class EventStore {
    public static let fileName = "events.sqlite"
    /// `PRAGMA user_version` of the schema below; raise it with a migration when the schema changes.
    /// 2: event ids are never reused (AUTOINCREMENT) and the store has a random id and the
    /// fleet shipper's cursor (`store_info`), so that (store id, event id) names an event for good.
    public static let schemaVersion: Int64 = 2

    public let path: String
    let connection: SQLiteConnection
    private let insertStatement: SQLiteStatement?

    /// Opens (and when writable, creates) the store at `path`.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        do {
            connection = try SQLiteConnection(path: path, readOnly: readOnly)
            if readOnly {
                try Self.checkSchema(connection, path: path, readOnly: true)
                insertStatement = nil
            } else {
                let mode = try connection.scalar("PRAGMA journal_mode = WAL").text
                guard mode == "wal" else {
                    throw StoreError("event store \(path): the file system does not support SQLite's WAL mode (journal_mode stayed \(mode ?? "unknown")); put the state directory on a local file system with --state-dir")
                }
                try connection.execute("PRAGMA synchronous = NORMAL")
                try Self.checkSchema(connection, path: path, readOnly: false)
                insertStatement = try connection.prepare(Self.insertSQL)
            }
        } catch let error as SQLiteError {
            throw StoreError(error, path: path)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("event store \(path): \(error)")
        }
    }

    public convenience init(directory: String, readOnly: Bool = false) throws(StoreError) {
        try self.init(path: directory + "/" + Self.fileName, readOnly: readOnly)
    }

    /// Writes the batch in one transaction: all of it or, on error, none of it.
    public func insert(_ records: [EventRecord]) throws(StoreError) {
        guard !records.isEmpty, let insertStatement else { return }
        do {
            try connection.execute("BEGIN IMMEDIATE")
            for record in records {
                try insertStatement.run(Self.columnValues(record))
            }
            try connection.execute("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw StoreError(error, path: path)
        }
    }

    /// Deletes up to `limit` events captured before `cutoffNanos`, oldest first; returns how many.
    /// Chunked so that one call never holds the write lock (or the writer thread) for long.
    public func deleteEvents(before cutoffNanos: UInt64, limit: Int) throws(StoreError) -> Int {
        var unshipped = 0
        return try deleteEvents(before: cutoffNanos, limit: limit, countingUnshipped: false, into: &unshipped)
    }

    /// Deletes up to `limit` of the oldest events beyond the newest `keep`; returns how many.
    public func deleteEvents(beyondNewest keep: Int, limit: Int) throws(StoreError) -> Int {
        var unshipped = 0
        return try deleteEvents(beyondNewest: keep, limit: limit, countingUnshipped: false, into: &unshipped)
    }

    /// As `deleteEvents(before:limit:)`; with `countingUnshipped`, adds to `unshipped` how many of
    /// the deleted events the fleet shipper had not delivered yet (counted in the same transaction).
    public func deleteEvents(before cutoffNanos: UInt64, limit: Int, countingUnshipped: Bool,
                             into unshipped: inout Int) throws(StoreError) -> Int {
        try delete(selecting: "SELECT id FROM events WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2",
                   [.integer(Int64(clamping: cutoffNanos)), .integer(Int64(limit))],
                   countingUnshipped: countingUnshipped, into: &unshipped)
    }

    /// As `deleteEvents(beyondNewest:limit:)`, counting the undelivered ones as above.
    public func deleteEvents(beyondNewest keep: Int, limit: Int, countingUnshipped: Bool,
                             into unshipped: inout Int) throws(StoreError) -> Int {
        try delete(selecting: """
            SELECT id FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1) ORDER BY id LIMIT ?2
            """, [.integer(Int64(keep)), .integer(Int64(limit))], countingUnshipped: countingUnshipped, into: &unshipped)
    }

    private func delete(selecting ids: String, _ values: [SQLiteValue], countingUnshipped: Bool,
                        into unshipped: inout Int) throws(StoreError) -> Int {
        do {
            try connection.execute("BEGIN IMMEDIATE")
            if countingUnshipped {
                unshipped += Int(try connection.prepare("""
                    SELECT count(*) FROM events WHERE id IN (\(ids)) AND id > (\(Self.shippedThroughSQL))
                    """).rows(values) { $0.value(at: 0).integer }.first ?? 0)
            }
            try connection.prepare("DELETE FROM events WHERE id IN (\(ids))").run(values)
            let deleted = Int(try connection.scalar("SELECT changes()").integer ?? 0)
            try connection.execute("COMMIT")
            return deleted
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw StoreError(error, path: path)
        }
    }

    // Column order of the insert; `time_ns` holds nanoseconds since the epoch.
    private static let columns = EventField.allCases.map(\.storeColumn)
    private static let insertSQL = "INSERT INTO events (\(columns.joined(separator: ", "))) VALUES ("
        + (1...columns.count).map { "?\($0)" }.joined(separator: ", ") + ")"

    private static func columnValues(_ record: EventRecord) -> [SQLiteValue] {
        var values = [SQLiteValue](repeating: .null, count: columns.count)
        for (field, value) in record.fieldValues {
            let index = EventField.allCases.firstIndex(of: field)!
            switch value {
            case .text(let text): values[index] = .text(text)
            case .integer(let number): values[index] = .integer(number)
            case .time(let nanos): values[index] = .integer(Int64(clamping: nanos))
            }
        }
        return values
    }

    /// A function, not a constant: each new store draws its own random id.
    private static func schema() -> String {
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time_ns INTEGER NOT NULL,
            interface TEXT NOT NULL,
            proto TEXT NOT NULL,
            src TEXT NOT NULL,
            sport INTEGER,
            dst TEXT,
            dport INTEGER,
            verdict TEXT NOT NULL,
            packets INTEGER NOT NULL,
            ttl INTEGER,
            window INTEGER,
            tcp_options TEXT,
            ports INTEGER,
            addresses INTEGER
        );
        CREATE INDEX events_time ON events (time_ns);
        CREATE INDEX events_src ON events (src, time_ns);
        CREATE INDEX events_verdict ON events (verdict, time_ns);
        CREATE TABLE store_info (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO store_info VALUES ('\(storeIDKey)', \(Int64(bitPattern: UInt64.random(in: 1...UInt64.max)))),
            ('\(shippedThroughKey)', 0);
        PRAGMA user_version = \(schemaVersion);
        """
    }

    /// Version 1 reused ids once retention emptied the table (`INTEGER PRIMARY KEY` alone), which
    /// would make a shipper's cursor skip every new event: its rows move to an AUTOINCREMENT table.
    private static func migrationFrom1() -> String {
        """
        ALTER TABLE events RENAME TO events_v1;
        DROP INDEX events_time; DROP INDEX events_src; DROP INDEX events_verdict;
        \(schema())
        INSERT INTO events SELECT * FROM events_v1;
        DROP TABLE events_v1;
        """
    }

    private static func checkSchema(_ connection: SQLiteConnection, path: String, readOnly: Bool) throws -> Void {
        let version = try connection.scalar("PRAGMA user_version").integer ?? 0
        switch version {
        case schemaVersion:
            return
        case 0 where readOnly:
            throw StoreError("event store \(path) holds no events yet: the daemon creates it when it first runs")
        case 1 where readOnly:
            // The readers' queries are the same on both versions; the daemon migrates at its next start.
            return
        case 0, 1:
            // Re-read inside the write lock: the writer and the shipper may both open a new store.
            try connection.execute("BEGIN IMMEDIATE")
            do {
                switch try connection.scalar("PRAGMA user_version").integer ?? 0 {
                case 0: try connection.execute(schema())
                case 1: try connection.execute(migrationFrom1())
                default: break
                }
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        default:
            throw StoreError("event store \(path) has schema version \(version), newer than this LightScope understands (\(schemaVersion)): upgrade lightscope, or move the file aside to start a new store")
        }
    }
}
