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
    /// 2: event ids are never reused (AUTOINCREMENT) and the store has a random id and the
    /// fleet shipper's cursor (`store_info`), so that (store id, event id) names an event for good.
    /// 3: each event names the tool that sent its probe (`tool`).
    /// `tcpFlagsVersion`: each event records its probe's TCP flags (`tcp_flags`).
    /// `answerVersion`: a `backscatter` event records the victim's answer (`answer`).
    /// `aggregateVersion`: an aggregate event records the events it stands for and sample sources.
    /// `blockVersion`: a flood block's row holds its aggregates packed (`block`, `AggregateBlock`).
    public static let schemaVersion: Int64 = blockVersion
    /// The version that added `tcp_flags`: the one place its number is written.
    public static let tcpFlagsVersion: Int64 = 4
    /// The version that added `answer`: the one place its number is written.
    public static let answerVersion: Int64 = 5
    /// The version that added `aggregated` and `samples`: the one place its number is written.
    public static let aggregateVersion: Int64 = 6
    /// The version that added `block`: the one place its number is written.
    public static let blockVersion: Int64 = 7

    public let path: String
    let connection: SQLiteConnection
    private let insertStatement: SQLiteStatement?
    /// Inserts `rowsPerInsert` events in one statement (the batch's tail goes one by one).
    private let insertManyStatement: SQLiteStatement?
    /// Events per INSERT statement: SQLite's work per statement (starting it, AUTOINCREMENT's
    /// read and write of `sqlite_sequence`, ending it) is then paid once per 16 events, about
    /// a sixth of the writer's instructions per event (bench/README.md, "The store writer").
    static let rowsPerInsert = 16

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
                insertManyStatement = nil
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
                insertStatement = try connection.prepare(Self.insertSQL(rows: 1))
                insertManyStatement = try connection.prepare(Self.insertSQL(rows: Self.rowsPerInsert))
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

    /// Writes the batch in one transaction: all of it or, on error, none of it. `blocks`, when
    /// given, holds each record's flood block (`AggregateBlock`), in order.
    public func insert(_ records: [EventRecord], blocks: [[UInt8]]? = nil) throws(StoreError) {
        guard !records.isEmpty, let insertStatement, let insertManyStatement else { return }
        do {
            try connection.execute("BEGIN IMMEDIATE")
            var next = records.startIndex
            while records.endIndex - next >= Self.rowsPerInsert {
                for row in 0..<Self.rowsPerInsert {
                    try Self.bind(records[next + row], block: blocks?[next + row], to: insertManyStatement, row: row)
                }
                try insertManyStatement.runBound()
                next += Self.rowsPerInsert
            }
            for index in next..<records.endIndex {
                try Self.bind(records[index], block: blocks?[index], to: insertStatement, row: 0)
                try insertStatement.runBound()
            }
            try connection.execute("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            throw StoreError(error, path: path)
        }
    }

    /// Deletes up to `limit` events captured before `cutoffNanos`, oldest first.
    /// Chunked so that one call never holds the write lock (or the writer thread) for long.
    public func deleteEvents(before cutoffNanos: UInt64, limit: Int) throws(StoreError) -> Deletion {
        try delete("""
            DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2)
            """, [.integer(Int64(clamping: cutoffNanos)), .integer(Int64(limit))])
    }

    /// Deletes up to `limit` of the oldest events beyond the newest `keep` ids.
    /// Counted on ids (two index lookups, where an OFFSET walked `keep` rows), so it keeps at
    /// most `keep` events, exactly `keep` while the newest ids have no gaps.
    public func deleteEvents(beyondNewest keep: Int, limit: Int) throws(StoreError) -> Deletion {
        try delete("""
            DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= (
                SELECT max(id) FROM events) - ?1 ORDER BY id LIMIT ?2)
            """, [.integer(Int64(keep)), .integer(Int64(limit))])
    }

    /// Events one delete removed, and how many of them were past the fleet shipper's cursor.
    /// An aggregate row (or a flood block's) counts as the events it stands for.
    public struct Deletion: Equatable, Sendable {
        public var events = 0
        /// Not yet committed by the collector: lost to the fleet if a shipper is configured.
        public var undelivered = 0
        /// Rows removed: what the limits (`max_events`) count.
        public var rows = 0

        public init(events: Int = 0, undelivered: Int = 0, rows: Int? = nil) {
            self.events = events
            self.undelivered = undelivered
            self.rows = rows ?? events
        }

        public static func += (total: inout Deletion, more: Deletion) {
            total.events += more.events
            total.undelivered += more.undelivered
            total.rows += more.rows
        }
    }

    /// Runs a DELETE of events; each deleted row is compared with the shipper's cursor in the
    /// same statement, so a cursor moving meanwhile cannot make the count wrong.
    func delete(_ sql: String, _ values: [SQLiteValue]) throws(StoreError) -> Deletion {
        do {
            let deleted: [(events: Int, undelivered: Bool)] = try connection.prepare(
                sql + " RETURNING coalesce(aggregated, 1), id > (\(Self.shippedThroughSQL))").rows(values) { row in
                guard let events = row.value(at: 0).integer, let undelivered = row.value(at: 1).integer else { return nil }
                return (Int(events), undelivered != 0)
            }
            return Deletion(events: deleted.reduce(0) { $0 + $1.events },
                            undelivered: deleted.reduce(0) { $0 + ($1.undelivered ? $1.events : 0) }, rows: deleted.count)
        } catch {
            throw StoreError(error, path: path)
        }
    }

    // Column order of the insert; `time_ns` holds nanoseconds since the epoch.
    private static let fields = EventField.allCases
    private static let columns = fields.map(\.storeColumn)
    /// A flood block's packed aggregates (`AggregateBlock`); NULL in every other row. Not an
    /// `EventField`: readers expand it into the aggregate events it holds.
    static let blockColumn = "block"
    /// The fields, then the block.
    private static let parametersPerRow = columns.count + 1
    /// `OR ROLLBACK`: a row that breaks a constraint ends the whole transaction, as `insert`'s
    /// error path does anyway. With the default (ABORT) SQLite undoes only the failing
    /// statement, and for that copied every page a statement changed that existed before it
    /// into a statement journal, a temporary file: about 2.3 KB per single event, ten times
    /// its bytes in the log (`EventStoreWriteVolumeTests`; bench/HISTORY.md, session 14, writer).
    private static func insertSQL(rows: Int) -> String {
        "INSERT OR ROLLBACK INTO events (\(columns.joined(separator: ", ")), \(blockColumn)) VALUES "
            + (0..<rows).map { row in "(" + (1...parametersPerRow).map { "?\(row * parametersPerRow + $0)" }.joined(separator: ", ") + ")" }
            .joined(separator: ", ")
    }

    /// Binds every column of row `row` of the insert straight from the record, NULL where it has no value:
    /// no array of values, no tuple of field and value per row. The switch is exhaustive, so a
    /// new `EventField` cannot be left out; `EventStoreTests` read every field back.
    private static func bind(_ record: EventRecord, block: [UInt8]?, to statement: SQLiteStatement, row: Int) throws(SQLiteError) {
        try statement.bind(blob: block, at: Int32((row + 1) * parametersPerRow))
        for (offset, field) in fields.enumerated() {
            let index = Int32(row * parametersPerRow + offset + 1)
            switch field {
            case .time: try statement.bind(Int64(clamping: record.timeNanos), at: index)
            case .interface: try statement.bindUntilRun(record.interface, at: index)
            case .proto: try statement.bindUntilRun(record.proto.rawValue, at: index)
            case .src: try statement.bindUntilRun(record.source, at: index)
            case .sport: try statement.bind(record.sourcePort.map(Int64.init), at: index)
            case .dst: try statement.bindUntilRun(record.destination, at: index)
            case .dport: try statement.bind(record.destinationPort.map(Int64.init), at: index)
            case .verdict: try statement.bindUntilRun(record.verdict.rawValue, at: index)
            case .packets: try statement.bind(Int64(record.packets), at: index)
            case .ttl: try statement.bind(record.ttl.map(Int64.init), at: index)
            case .window: try statement.bind(record.tcpWindow.map(Int64.init), at: index)
            case .tcpOptions: try statement.bindUntilRun(record.tcpOptions, at: index)
            case .ports: try statement.bind(record.ports.map(Int64.init), at: index)
            case .addresses: try statement.bind(record.addresses.map(Int64.init), at: index)
            case .tool: try statement.bindUntilRun(record.tool.name, at: index)
            case .tcpFlags: try statement.bindUntilRun(record.tcpFlags, at: index)
            case .answer: try statement.bindUntilRun(record.answer?.name, at: index)
            case .aggregated: try statement.bind(record.aggregated.map(Int64.init), at: index)
            case .samples: try statement.bindUntilRun(record.samples, at: index)
            }
        }
    }

    /// Version 2 as it shipped, kept as it was: a new store starts from it and takes every later
    /// migration, so new and upgraded stores cannot drift apart. A function, not a constant:
    /// each new store draws its own random id.
    private static func schemaVersion2() -> String {
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
        PRAGMA user_version = 2;
        """
    }

    /// Version 1 reused ids once retention emptied the table (`INTEGER PRIMARY KEY` alone), which
    /// would make a shipper's cursor skip every new event: its rows move to an AUTOINCREMENT table.
    private static func migrationFrom1() -> String {
        """
        ALTER TABLE events RENAME TO events_v1;
        DROP INDEX events_time; DROP INDEX events_src; DROP INDEX events_verdict;
        \(schemaVersion2())
        INSERT INTO events SELECT * FROM events_v1;
        DROP TABLE events_v1;
        """
    }

    /// Events stored before tools were named keep their rows, as sent by an `unknown` tool.
    private static let migrationFrom2 = """
        ALTER TABLE events ADD COLUMN tool TEXT NOT NULL DEFAULT 'unknown';
        CREATE INDEX events_tool ON events (tool, time_ns);
        PRAGMA user_version = 3;
        """

    /// Events stored before flags were recorded keep their rows, without flags (NULL), as a
    /// UDP probe's event has none.
    private static let migrationAddingTCPFlags = """
        ALTER TABLE events ADD COLUMN tcp_flags TEXT;
        PRAGMA user_version = \(tcpFlagsVersion);
        """

    /// Events stored before backscatter was told apart keep their rows, none with an answer:
    /// a nullable column, which SQLite adds without rewriting the table.
    private static let migrationAddingAnswer = """
        ALTER TABLE events ADD COLUMN answer TEXT;
        PRAGMA user_version = \(answerVersion);
        """

    /// Events stored before aggregation each stand for themselves: nullable columns, no rewrite.
    /// The (src, time) index goes: every row's insert landed on a random page of it (a flood's
    /// sources are random), which cost the writer more than half its CPU per event
    /// (bench/README.md, "The store writer"); the queries by source read the time range instead.
    private static let migrationAddingAggregates = """
        ALTER TABLE events ADD COLUMN aggregated INTEGER;
        ALTER TABLE events ADD COLUMN samples TEXT;
        DROP INDEX IF EXISTS events_src;
        PRAGMA user_version = \(aggregateVersion);
        """

    /// Events stored before flood blocks hold none: a nullable column, no rewrite.
    private static let migrationAddingBlocks = """
        ALTER TABLE events ADD COLUMN block BLOB;
        PRAGMA user_version = \(blockVersion);
        """

    /// Brings a store of `version` to a later one: each step sets `user_version` to what it made
    /// (a new store starts at 2).
    private static func migration(from version: Int64) -> String {
        switch version {
        case 0: schemaVersion2()
        case 1: migrationFrom1()
        case 2: migrationFrom2
        case 3: migrationAddingTCPFlags
        case tcpFlagsVersion: migrationAddingAnswer
        case answerVersion: migrationAddingAggregates
        default: migrationAddingBlocks
        }
    }

    /// Lets the readers' queries run unchanged on an older store, which lacks the later columns:
    /// a temporary view (the connection's own, nothing is written to the file) shadows `events`
    /// and gives its events what the upgrade will: the tool `unknown` (before 3), no flags
    /// (before 4), no answer (before 5), no aggregates (before 6), no flood blocks.
    private static func readWithoutNewColumns(_ connection: SQLiteConnection, version: Int64) throws {
        let tool = version < 3 ? ", 'unknown' AS tool" : ""
        let flags = version < tcpFlagsVersion ? ", NULL AS tcp_flags" : ""
        let answer = version < answerVersion ? ", NULL AS answer" : ""
        let aggregates = version < aggregateVersion ? ", NULL AS aggregated, NULL AS samples" : ""
        try connection.execute("CREATE TEMP VIEW events AS SELECT *\(tool)\(flags)\(answer)\(aggregates), NULL AS \(blockColumn) FROM main.events")
    }

    private static func checkSchema(_ connection: SQLiteConnection, path: String, readOnly: Bool) throws -> Void {
        let version = try connection.scalar("PRAGMA user_version").integer ?? 0
        switch version {
        case schemaVersion:
            return
        case 0 where readOnly:
            throw StoreError("event store \(path) holds no events yet: the daemon creates it when it first runs")
        case 1..<schemaVersion where readOnly:
            // A reader cannot upgrade; it reads the older store as it is until the daemon's next start.
            try readWithoutNewColumns(connection, version: version)
        case 0..<schemaVersion:
            // Re-read inside the write lock: the writer and the shipper may both open a new store.
            // All steps in one transaction: a crash leaves the store as it was, never half-upgraded.
            try connection.execute("BEGIN IMMEDIATE")
            do {
                var current = try connection.scalar("PRAGMA user_version").integer ?? 0
                while current < schemaVersion {
                    try connection.execute(migration(from: current))
                    current = try connection.scalar("PRAGMA user_version").integer ?? 0
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
