import CSQLite

/// One SQLite connection, used from one thread at a time. It exists so that the rest of the
/// store speaks Swift (throwing calls, optional values) and the C API stays in this file.
final class SQLiteConnection {
    let path: String
    private let handle: OpaquePointer

    init(path: String, readOnly: Bool) throws(SQLiteError) {
        self.path = path
        Self.configureOnce
        var handle: OpaquePointer?
        // NOFOLLOW: a symbolic link planted where the store should be is refused, never followed.
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw SQLiteError(code: code, message: message)
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        // A reader (the CLI) and the writer may briefly overlap on a checkpoint.
        sqlite3_busy_timeout(handle, 5000)
    }

    /// SQLite's process-wide settings, made once before its first connection (they must come
    /// before SQLite initialises itself, and every connection of the process opens here): no
    /// memory statistics, which nothing reads and which took a process-wide mutex around each
    /// of SQLite's allocations, a tenth of the writer's CPU under a flood (bench/HISTORY.md,
    /// session 14, writer). Refused (SQLITE_MISUSE) if SQLite was initialised before: harmless.
    private static let configureOnce: Void = {
        _ = lightscope_sqlite3_disable_memory_statistics()
    }()

    deinit {
        // close_v2 defers the close until every statement is finalized, so order does not matter.
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws(SQLiteError) {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw lastError(code) }
    }

    func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw lastError(code) }
        return SQLiteStatement(statement, connection: self)
    }

    /// The first column of the first row, for PRAGMAs and counts.
    func scalar(_ sql: String) throws(SQLiteError) -> SQLiteValue {
        let statement = try prepare(sql)
        guard try statement.step() else { return .null }
        return statement.value(at: 0)
    }

    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// A PASSIVE checkpoint: copies as much of the write-ahead log into the database as readers
    /// allow, without waiting for them. Returns the frames in the log and how many are copied.
    func checkpoint() throws(SQLiteError) -> (logFrames: Int, copiedFrames: Int) {
        var logFrames: Int32 = 0
        var copiedFrames: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copiedFrames)
        guard code == SQLITE_OK else { throw lastError(code) }
        return (Int(logFrames), Int(copiedFrames))
    }

    func lastError(_ code: Int32) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }
}

enum SQLiteValue: Equatable {
    case integer(Int64)
    case text(String)
    case null

    var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    var text: String? { if case .text(let value) = self { value } else { nil } }
}

/// A prepared statement: bound, stepped, reset and reused, so the hot insert is parsed once.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: SQLiteConnection

    fileprivate init(_ handle: OpaquePointer, connection: SQLiteConnection) {
        self.handle = handle
        self.connection = connection
    }

    /// Where `bindUntilRun` copies texts for SQLite to read in place, `textArenaUsed` bytes of
    /// it taken since the last `runBound`; allocated with the first such text.
    private var textArena: UnsafeMutableRawPointer?
    private var textArenaUsed = 0
    /// Enough for a 16-row insert's texts (about 10 of 5 to 40 bytes a row); a text beyond it
    /// is bound with SQLite's own copy.
    static let textArenaBytes = 16 << 10

    deinit {
        sqlite3_finalize(handle)
        textArena?.deallocate()
    }

    /// `index` is 1-based, as in SQL's `?1`.
    func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
        case .text(let text): code = sqlite3_bind_text(handle, index, text, -1, Self.transient)
        case .null: code = sqlite3_bind_null(handle, index)
        }
        guard code == SQLITE_OK else { throw connection.lastError(code) }
    }

    /// `index` is 1-based; nil binds NULL.
    func bind(_ number: Int64?, at index: Int32) throws(SQLiteError) {
        let code = number.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index)
        guard code == SQLITE_OK else { throw connection.lastError(code) }
    }

    /// `index` is 1-based; nil binds NULL. SQLite copies the text's UTF-8 (its length given,
    /// so it need not look for the end).
    func bind(_ text: String?, at index: Int32) throws(SQLiteError) {
        guard var text else { return try bind(nil as Int64?, at: index) }
        let code = text.withUTF8 { bytes in
            guard let start = bytes.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
            return sqlite3_bind_text(handle, index, UnsafeRawPointer(start).assumingMemoryBound(to: CChar.self),
                                     Int32(bytes.count), Self.transient)
        }
        guard code == SQLITE_OK else { throw connection.lastError(code) }
    }

    /// As `bind(_ text:at:)`, for a statement stepped by `runBound`: the text is copied into the
    /// statement's arena, which SQLite reads in place (SQLITE_STATIC) until `runBound` has
    /// stepped it, instead of SQLite allocating, copying and later freeing its own copy of each
    /// text, about 480 instructions a text (bench/HISTORY.md, session 14, writer).
    func bindUntilRun(_ text: String?, at index: Int32) throws(SQLiteError) {
        guard var text else { return try bind(nil as Int64?, at: index) }
        let arena = textArena ?? {
            let allocated = UnsafeMutableRawPointer.allocate(byteCount: Self.textArenaBytes, alignment: 8)
            textArena = allocated
            return allocated
        }()
        let used = textArenaUsed
        let code = text.withUTF8 { bytes -> Int32 in
            guard let source = bytes.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, Self.transient) }
            guard used + bytes.count <= Self.textArenaBytes else {
                return sqlite3_bind_text(handle, index, UnsafeRawPointer(source).assumingMemoryBound(to: CChar.self),
                                         Int32(bytes.count), Self.transient)
            }
            let start = arena + used
            start.copyMemory(from: source, byteCount: bytes.count)
            textArenaUsed = used + bytes.count
            return sqlite3_bind_text(handle, index, start.assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.static)
        }
        guard code == SQLITE_OK else { throw connection.lastError(code) }
    }

    /// `index` is 1-based; nil binds NULL. SQLite copies the bytes.
    func bind(blob: [UInt8]?, at index: Int32) throws(SQLiteError) {
        guard let blob else { return try bind(nil as Int64?, at: index) }
        let code = blob.withUnsafeBytes { bytes in
            sqlite3_bind_blob(handle, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), Self.transient)
        }
        guard code == SQLITE_OK else { throw connection.lastError(code) }
    }

    /// A BLOB column's bytes; nil when it is NULL (text is read as its bytes).
    func blob(at column: Int32) -> [UInt8]? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL else { return nil }
        let start = sqlite3_column_blob(handle, column) // before the length, as SQLite asks
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let start else { return [] }
        return Array(UnsafeRawBufferPointer(start: start, count: count))
    }

    /// Steps a statement whose every parameter was bound anew, then readies it for the next
    /// use without clearing the bindings (the next use binds them all again).
    /// Texts bound by `bindUntilRun` are read during the step: the arena is free for the next
    /// use's texts only after it.
    func runBound() throws(SQLiteError) {
        defer {
            sqlite3_reset(handle)
            textArenaUsed = 0
        }
        while try step() {}
    }

    func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    /// True while there is a row to read; false when the statement is done.
    func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw connection.lastError(code)
        }
    }

    /// Runs a statement that returns no rows, then readies it for the next use.
    func run(_ values: [SQLiteValue] = []) throws(SQLiteError) {
        defer { reset() }
        try bind(values)
        while try step() {}
    }

    /// Steps through every row, then readies the statement for the next use.
    func rows<Row>(_ values: [SQLiteValue] = [], _ read: (SQLiteStatement) -> Row?) throws(SQLiteError) -> [Row] {
        defer { reset() }
        try bind(values)
        var rows: [Row] = []
        while try step() {
            if let row = read(self) { rows.append(row) }
        }
        return rows
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func value(at column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: .integer(sqlite3_column_int64(handle, column))
        case SQLITE_NULL: .null
        default: .text(String(cString: sqlite3_column_text(handle, column)))
        }
    }

    /// SQLITE_TRANSIENT is a C macro (a cast of -1) that Swift cannot import: SQLite copies the text.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    /// SQLITE_STATIC (a null destructor): SQLite reads the caller's bytes in place.
    private static let `static`: sqlite3_destructor_type? = nil
}

/// A failed SQLite call: its extended result code and SQLite's own words.
struct SQLiteError: Error {
    var code: Int32
    var message: String

    var primaryCode: Int32 { code & 0xFF }
}
