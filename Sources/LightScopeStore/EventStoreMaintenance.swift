import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// What keeps the store within its limits on disk: how big it is, the oldest events' deletion,
/// giving free pages back, and the file's safe creation.
extension EventStore {
    /// The store's size and contents now; see `StoreFootprint`.
    func footprint() throws(StoreError) -> StoreFootprint {
        do {
            func number(_ sql: String) throws(SQLiteError) -> Int { Int(try connection.scalar(sql).integer ?? 0) }
            let newestId = try number("SELECT max(id) FROM events")
            let oldestId = try number("SELECT min(id) FROM events")
            let oldestTime = try connection.scalar("SELECT min(time_ns) FROM events").integer
            return StoreFootprint(
                pageSizeBytes: try number("PRAGMA page_size"), pageCount: try number("PRAGMA page_count"),
                freePages: try number("PRAGMA freelist_count"),
                eventSpan: newestId == 0 ? 0 : newestId - oldestId + 1,
                oldestTimeNanos: oldestTime.map { UInt64(clamping: $0) },
                canGiveBackSpace: try number("PRAGMA auto_vacuum") == 2,
                databaseFileBytes: Self.fileSize(path), logFileBytes: Self.fileSize(path + "-wal") + Self.fileSize(path + "-shm"))
        } catch {
            throw StoreError(error, path: path)
        }
    }

    /// Deletes the `limit` events with the lowest ids.
    func deleteOldest(limit: Int) throws(StoreError) -> Deletion {
        try delete("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?1)", [.integer(Int64(limit))])
    }

    /// Gives up to `pages` free pages back to the file system (the file shrinks at the next checkpoint).
    func giveBackFreePages(_ pages: Int) throws(StoreError) {
        do {
            try connection.execute("PRAGMA incremental_vacuum(\(pages))")
        } catch {
            throw StoreError(error, path: path)
        }
    }

    /// Copies the log into the database as far as readers allow, without waiting for them;
    /// returns the bytes of the log that a reader keeps from being copied (0 when it is all in).
    @discardableResult
    func checkpoint() throws(StoreError) -> (logBytes: Int, blockedBytes: Int) {
        do {
            let frames = try connection.checkpoint()
            let frameBytes = Int(try connection.scalar("PRAGMA page_size").integer ?? 4096) + 24
            return (frames.logFrames * frameBytes, max(0, frames.logFrames - frames.copiedFrames) * frameBytes)
        } catch {
            throw StoreError(error, path: path)
        }
    }

    /// The log's bound: see `StoreLimits`. Both PRAGMAs hold for this connection only.
    static func boundLog(_ connection: SQLiteConnection) throws(SQLiteError) {
        let pageSize = Int(try connection.scalar("PRAGMA page_size").integer ?? 4096)
        try connection.execute("PRAGMA wal_autocheckpoint = \(StoreLimits.logCheckpointBytes / max(512, pageSize))")
        try connection.execute("PRAGMA journal_size_limit = \(StoreLimits.logKeptBytes)")
    }

    /// Creates the store's file before SQLite opens it: with O_NOFOLLOW, so that a symbolic link
    /// planted in its place is refused rather than followed, and with `fileMode` whatever the umask.
    /// A file that is there already is only looked at (lstat), never opened here: closing a
    /// descriptor of it would drop the POSIX locks of every SQLite connection to it in this
    /// process (the event writer's, while the fleet shipper opens its own), and another process
    /// would then checkpoint and remove the log under them.
    static func createFile(_ path: String) throws(StoreError) {
        var status = stat()
        if lstat(path, &status) == 0 {
            try checkRegular(path, status)
            return
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, fileMode)
        guard descriptor >= 0 else {
            let errorNumber = errno
            // Created meanwhile (or a link planted meanwhile): judge what is there now.
            if errorNumber == EEXIST, lstat(path, &status) == 0 {
                try checkRegular(path, status)
                return
            }
            throw StoreError("event store \(path): cannot create it (\(StoreError.systemMessage(errorNumber))); make \(StoreError.directory(of: path)) writable by the user LightScope runs as, or choose another with --state-dir",
                             sqliteCode: [EACCES, EPERM, EROFS, ENOENT, ENOSPC, EDQUOT].contains(errorNumber) ? SQLITE_CANTOPEN : nil)
        }
        defer { close(descriptor) }
        if fstat(descriptor, &status) == 0, status.st_mode & 0o777 != fileMode { fchmod(descriptor, fileMode) }
    }

    private static func checkRegular(_ path: String, _ status: stat) throws(StoreError) {
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            return
        case S_IFLNK:
            throw StoreError("event store \(path) is a symbolic link, which LightScope never follows: remove it (rm \(path)) and find out who put it there", sqliteCode: nil)
        default:
            throw StoreError("event store \(path) is not a regular file: move it aside; a new store is created at the next start")
        }
    }

    private static func fileSize(_ path: String) -> Int {
        var status = stat()
        return lstat(path, &status) == 0 ? Int(status.st_size) : 0
    }
}
