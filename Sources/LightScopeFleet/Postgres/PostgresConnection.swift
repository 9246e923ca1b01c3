import CLibPQ
import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection driven only through its non-blocking API: `PQconnectStartParams` and
/// `PQconnectPoll`, then `PQsendQuery[Params]`, `PQflush`, `PQconsumeInput`, `PQisBusy`. Every
/// wait goes through a `SocketWaiter`, so the loop that owns the connection keeps beating
/// however slowly the collector answers. Used from one thread at a time.
public final class PostgresConnection {
    private let handle: OpaquePointer
    private let waiter: SocketWaiter

    /// Connects with libpq's keywords (`dbname` may hold a whole URI or keyword string: it is
    /// expanded, and the keywords after it override what it says). Host names must already be
    /// resolved into `hostaddr` (see `HostResolver`): libpq's own lookup would block.
    public init(parameters: [(String, String)], deadlineNanos: UInt64, waiter: SocketWaiter) throws(PostgresError) {
        self.waiter = waiter
        // libpq is opened on first use (CLibPQ.h): say so plainly if it cannot be.
        var reason = [CChar](repeating: 0, count: 300)
        guard lightscope_pq_load(&reason, UInt(reason.count)) != 0 else {
            throw PostgresError(.connection, String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let keywords = parameters.map { strdup($0.0) } + [nil]
        let values = parameters.map { strdup($0.1) } + [nil]
        defer { (keywords + values).forEach { free($0) } }
        guard let handle = keywords.map({ UnsafePointer($0) }).withUnsafeBufferPointer({ keywordPointers in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointers in
                PQconnectStartParams(keywordPointers.baseAddress, valuePointers.baseAddress, 1)
            }
        }) else { throw PostgresError(.connection, "libpq could not allocate a connection") }
        self.handle = handle
        // A throw from here on runs deinit, which finishes the handle.
        try finishConnecting(deadlineNanos: deadlineNanos)
    }

    deinit { PQfinish(handle) }

    private func finishConnecting(deadlineNanos: UInt64) throws(PostgresError) {
        guard PQstatus(handle) != CONNECTION_BAD else { throw PostgresError.connectionFailure(errorMessage) }
        var state = PGRES_POLLING_WRITING
        while true {
            switch state {
            case PGRES_POLLING_OK:
                guard PQsetnonblocking(handle, 1) == 0 else { throw PostgresError(.connection, errorMessage) }
                return
            case PGRES_POLLING_FAILED:
                throw PostgresError.connectionFailure(errorMessage)
            case PGRES_POLLING_READING:
                // The socket may change between polls (another address, SSL renegotiation): ask each time.
                _ = try waiter.wait(for: PQsocket(handle), events: Int16(POLLIN), deadlineNanos: deadlineNanos)
            default:
                _ = try waiter.wait(for: PQsocket(handle), events: Int16(POLLOUT), deadlineNanos: deadlineNanos)
            }
            state = PQconnectPoll(handle)
        }
    }

    /// What one statement returned: its rows as text (NULL as nil) and the affected row count.
    public struct Result: Sendable {
        public var rows: [[String?]]
        public var affectedRows: Int
    }

    /// Runs one statement with text parameters (`$1`, `$2`, ...), or several separated by `;`
    /// when there are no parameters. Returns one `Result` per statement; the first error
    /// refused by the server is thrown once every result has been read.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = [], deadlineNanos: UInt64) throws(PostgresError) -> [Result] {
        try send(sql, parameters, deadlineNanos: deadlineNanos)
        return try results(deadlineNanos: deadlineNanos)
    }

    /// Sends a statement without waiting for its results, so the caller can work meanwhile;
    /// `results` must come before the next `send`.
    public func send(_ sql: String, _ parameters: [String?] = [], deadlineNanos: UInt64) throws(PostgresError) {
        let sent: Int32
        if parameters.isEmpty {
            sent = PQsendQuery(handle, sql)
        } else {
            let copies = parameters.map { $0.map { strdup($0) } ?? nil }
            defer { copies.forEach { free($0) } }
            sent = copies.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
                PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0)
            }
        }
        guard sent == 1 else { throw PostgresError(.connection, errorMessage) }
        try flush(deadlineNanos: deadlineNanos)
    }

    /// As `send`, with the parameters in binary form (see `BinaryParameter`): libpq copies
    /// them into its buffer before this returns.
    public func send(_ sql: String, binary parameters: [BinaryParameter], deadlineNanos: UInt64) throws(PostgresError) {
        let types = parameters.map { Oid($0.typeOID) }
        let lengths = parameters.map { Int32($0.bytes.count) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, lengths.reduce(0) { $0 + Int($1) }))
        defer { storage.deallocate() }
        var values: [UnsafePointer<CChar>?] = []
        var offset = 0
        for parameter in parameters {
            parameter.bytes.withUnsafeBufferPointer { bytes in
                if let base = bytes.baseAddress { (storage + offset).initialize(from: base, count: bytes.count) }
            }
            values.append(UnsafeRawPointer(storage + offset).assumingMemoryBound(to: CChar.self))
            offset += parameter.bytes.count
        }
        let sent = PQsendQueryParams(handle, sql, Int32(parameters.count), types, values, lengths, formats, 0)
        guard sent == 1 else { throw PostgresError(.connection, errorMessage) }
        try flush(deadlineNanos: deadlineNanos)
    }

    /// Sends what libpq has buffered; a large batch takes several writes.
    private func flush(deadlineNanos: UInt64) throws(PostgresError) {
        while true {
            switch PQflush(handle) {
            case 0: return
            case 1:
                let ready = try waiter.wait(for: PQsocket(handle), events: Int16(POLLIN | POLLOUT), deadlineNanos: deadlineNanos)
                // The server may answer (an error, a notice) before it has read everything.
                if ready & Int16(POLLIN) != 0, PQconsumeInput(handle) == 0 { throw PostgresError(.connection, errorMessage) }
            default:
                throw PostgresError(.connection, errorMessage)
            }
        }
    }

    /// Waits for the results of the statement `send` sent.
    public func results(deadlineNanos: UInt64) throws(PostgresError) -> [Result] {
        var results: [Result] = []
        var firstError: PostgresError?
        while true {
            while PQisBusy(handle) == 1 {
                _ = try waiter.wait(for: PQsocket(handle), events: Int16(POLLIN), deadlineNanos: deadlineNanos)
                guard PQconsumeInput(handle) == 1 else { throw PostgresError(.connection, errorMessage) }
            }
            guard let result = PQgetResult(handle) else { break }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
                results.append(Self.read(result))
            default:
                if firstError == nil { firstError = Self.error(of: result) }
            }
        }
        if let firstError { throw firstError }
        if PQstatus(handle) == CONNECTION_BAD { throw PostgresError(.connection, errorMessage) }
        return results
    }

    private static func read(_ result: OpaquePointer) -> Result {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            rows.append((0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return Result(rows: rows, affectedRows: affected)
    }

    private static func error(of result: OpaquePointer) -> PostgresError {
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
        let message = primary ?? String(cString: PQresultErrorMessage(result)).trimmingWhitespace
        return PostgresError(.server, message, sqlState: state)
    }

    private var errorMessage: String {
        String(cString: PQerrorMessage(handle)).trimmingWhitespace
    }

    /// A SCRAM-SHA-256 verifier for `password`, computed here so the password itself never
    /// reaches the server (nor its statement log).
    public func scramVerifier(password: String, role: String) throws(PostgresError) -> String {
        guard let encrypted = PQencryptPasswordConn(handle, password, role, "scram-sha-256") else {
            throw PostgresError(.connection, errorMessage)
        }
        defer { PQfreemem(encrypted) }
        return String(cString: encrypted)
    }

    /// The server's version number, e.g. 150020 for 15.20.
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// Whether the session runs over TLS.
    public var usesTLS: Bool { PQsslInUse(handle) == 1 }
}
