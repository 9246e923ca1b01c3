import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A problem with LightScope's state files that reaches a person: what is wrong, with which
/// path, and how to fix it, in one line.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// SQLite's extended result code when SQLite reported it, so callers can tell a full disk
    /// (`SQLITE_FULL`) from a broken file.
    public var sqliteCode: Int32?

    public init(_ message: String, sqliteCode: Int32? = nil) {
        self.message = message
        self.sqliteCode = sqliteCode
    }

    public var description: String { message }

    /// True for the failures that go away by themselves or by an admin's hand while the daemon
    /// runs (disk full, read-only or vanished directory, I/O errors): worth retrying.
    public var isStorageUnavailable: Bool {
        guard let code = sqliteCode.map({ $0 & 0xFF }) else { return false }
        return [SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM].contains(code)
    }

    /// Describes a failed SQLite call on the store at `path` together with its fix.
    init(_ error: SQLiteError, path: String) {
        let directory = Self.directory(of: path)
        let fix: String
        switch error.primaryCode {
        case SQLITE_FULL:
            fix = "the disk is full: free space on the file system of \(directory) (df -h \(directory)) or lower [store] max_store_mib"
        case SQLITE_READONLY, SQLITE_PERM:
            fix = "it is read-only: make \(path) and \(directory) writable by the user LightScope runs as, and check the file system is not mounted read-only"
        case SQLITE_CANTOPEN where error.code == Self.cantOpenSymlink:
            fix = "it is a symbolic link, which LightScope never follows: remove it (rm \(path)) and find out who put it there"
        case SQLITE_CANTOPEN:
            fix = "it cannot be opened: make sure \(directory) exists and is writable by the user LightScope runs as, or choose another with --state-dir"
        case SQLITE_IOERR:
            fix = "the disk reported an I/O error: check the disk (dmesg, journalctl -k) and free space on \(directory)"
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            fix = "the file is damaged or not an SQLite database: stop LightScope and move \(path) aside; a new store is created at the next start"
        default:
            fix = "see SQLite's message"
        }
        self.init("event store \(path): \(error.message) (SQLite code \(error.code)); \(fix)", sqliteCode: error.code)
    }

    /// SQLITE_CANTOPEN_SYMLINK, a macro with a shift that Swift does not import.
    static let cantOpenSymlink = SQLITE_CANTOPEN | (6 << 8)

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func systemMessage(_ errorNumber: Int32) -> String {
        String(cString: strerror(errorNumber))
    }
}
