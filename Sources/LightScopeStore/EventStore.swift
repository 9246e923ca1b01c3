import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// The local event store: one SQLite file, `events.sqlite`, in the state directory.
///
/// WAL mode with synchronous=NORMAL: a commit is one append to the write-ahead log, without an
/// fsync per transaction, and a committed transaction survives a crash or SIGKILL of the
/// daemon (only a power cut can take the last transactions). Readers such as the CLI or
/// `sqlite3` read while the daemon writes. Used from one thread at a time.
public final class EventStore {
    public static let fileName = "events.sqlite"
    /// `PRAGMA user_version` of the schema below; raise it with a migration when the schema changes.
    public static let schemaVersion: Int64 = 2

    public let path: String
    let connection: SQLiteConnection
    private let insertStatement: SQLiteStatement?

    /// The store and its -wal and -shm files (SQLite gives them the store's mode): readable by
    /// the state directory's group, which the package makes `adm`, so that admins need no root.
    public static let fileMode: mode_t = 0o640

    /// Opens (and when writable, creates) the store at `path`.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        do {
            if !readOnly { try Self.createFile(path) }
            connection = try SQLiteConnection(path: path, readOnly: readOnly)
            if readOnly {
                try Self.checkSchema(connection, path: path, readOnly: true)
                insertStatement = nil
            } else {
                // Only a new, empty file takes it: deleted events' pages can then be given back.
                try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
                let mode = try connection.scalar("PRAGMA journal_mode = WAL").text
                guard mode == "wal" else {
                    throw StoreError("event store \(path): the file system does not support SQLite's WAL mode (journal_mode stayed \(mode ?? "unknown")); put the state directory on a local file system with --state-dir")
                }
                try connection.execute("PRAGMA synchronous = NORMAL")
                try Self.boundLog(connection)
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
        try delete("""
            DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2)
            """, [.integer(Int64(clamping: cutoffNanos)), .integer(Int64(limit))])
    }

    /// Deletes up to `limit` of the oldest events beyond the newest `keep` ids; returns how many.
    /// Counted on ids (two index lookups, where an OFFSET walked `keep` rows), so it keeps at
    /// most `keep` events, exactly `keep` while the newest ids have no gaps.
    public func deleteEvents(beyondNewest keep: Int, limit: Int) throws(StoreError) -> Int {
        try delete("""
            DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= (
                SELECT max(id) FROM events) - ?1 ORDER BY id LIMIT ?2)
            """, [.integer(Int64(keep)), .integer(Int64(limit))])
    }

    func delete(_ sql: String, _ values: [SQLiteValue]) throws(StoreError) -> Int {
        do {
            try connection.prepare(sql).run(values)
            return Int(try connection.scalar("SELECT changes()").integer ?? 0)
        } catch {
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

    private static let schema = """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
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
            addresses INTEGER,
            tool TEXT NOT NULL DEFAULT 'unknown'
        );
        CREATE INDEX events_time ON events (time_ns);
        CREATE INDEX events_src ON events (src, time_ns);
        CREATE INDEX events_verdict ON events (verdict, time_ns);
        CREATE INDEX events_tool ON events (tool, time_ns);
        PRAGMA user_version = \(schemaVersion);
        """

    /// What brings a store of each older version to the next, in one transaction each. A store
    /// from before tools were named keeps its events, as sent by an `unknown` tool.
    private static let migrations: [Int64: String] = [
        1: """
            ALTER TABLE events ADD COLUMN tool TEXT NOT NULL DEFAULT 'unknown';
            CREATE INDEX events_tool ON events (tool, time_ns);
            PRAGMA user_version = 2;
            """,
    ]

    private static func checkSchema(_ connection: SQLiteConnection, path: String, readOnly: Bool) throws -> Void {
        let version = try connection.scalar("PRAGMA user_version").integer ?? 0
        switch version {
        case schemaVersion:
            return
        case 0 where !readOnly:
            try connection.execute("BEGIN IMMEDIATE; \(schema) COMMIT;")
        case 0:
            throw StoreError("event store \(path) holds no events yet: the daemon creates it when it first runs")
        case 1..<schemaVersion where !readOnly:
            for step in version..<schemaVersion {
                try connection.execute("BEGIN IMMEDIATE; \(migrations[step]!) COMMIT;")
            }
        case 1..<schemaVersion:
            throw StoreError("event store \(path) has schema version \(version), older than this LightScope's (\(schemaVersion)): restart the daemon (systemctl restart lightscope), which upgrades it, then read it again")
        default:
            throw StoreError("event store \(path) has schema version \(version), newer than this LightScope understands (\(schemaVersion)): upgrade lightscope, or move the file aside to start a new store")
        }
    }
}
