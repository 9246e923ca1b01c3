import LightScopeCore

/// What the store holds and takes on disk, read between transactions from PRAGMAs, two index
/// lookups and stat(2): nothing that scans the table.
struct StoreFootprint: Equatable {
    var pageSizeBytes: Int
    var pageCount: Int
    var freePages: Int
    /// `max(id) - min(id) + 1`: never fewer than the events stored, and exactly that many while
    /// ids have no gaps (retention deletes the oldest ids first, so they seldom do).
    var eventSpan: Int
    var oldestTimeNanos: UInt64?
    /// False for a store created before LightScope set `auto_vacuum = INCREMENTAL`: its free
    /// pages are reused but never given back to the file system.
    var canGiveBackSpace: Bool
    /// `events.sqlite` as it is on disk: it shrinks only once a checkpoint has copied a vacuum in.
    var databaseFileBytes: Int
    /// `events.sqlite-wal` and `events.sqlite-shm` together.
    var logFileBytes: Int

    var liveBytes: Int { (pageCount - freePages) * pageSizeBytes }
    var freeBytes: Int { freePages * pageSizeBytes }
    var databaseBytes: Int { pageCount * pageSizeBytes }

    /// Live bytes per event, indexes included; a typical figure while the store is nearly empty.
    var bytesPerEvent: Int {
        eventSpan < StoreLimits.pruneBatchEvents ? StoreLimits.typicalBytesPerEvent : max(64, liveBytes / eventSpan)
    }
}

/// `[store] retention_days`, `max_events` and `max_store_mib` turned into bytes and bounded steps.
/// Pure, so that every decision is tested on values.
///
/// The on-disk bound is `max_store_mib` for the database, its write-ahead log and the log's index
/// together. The log gets a fixed reserve: SQLite checkpoints it after a commit that takes it
/// past `logCheckpointBytes`, and truncates it back to `logKeptBytes` when it starts over, so it
/// holds at most that plus one transaction. The database file gets the rest, `dataLimitBytes`.
struct StoreLimits: Equatable {
    /// `wal_autocheckpoint`: the log is copied into the database once it passes this.
    static let logCheckpointBytes = 2 << 20
    /// `journal_size_limit`: the log file is cut back to this when it starts over. Above the
    /// checkpoint threshold by more than a transaction of flood blocks (about 650 KB), so that
    /// under a flood the log's file keeps its size: cut back to the threshold, it was cut and
    /// grown again by the last transaction's overshoot at every checkpoint, new file pages
    /// each time (bench/HISTORY.md, session 14, writer). Below `logReserveBytes` less a
    /// transaction, so that a log kept at this size asks for no extra checkpoint.
    static let logKeptBytes = 3 << 20
    /// The most one transaction adds to the log: `EventPipeline.maximumEventsPerTransaction`
    /// inserted events, or `pruneBatchEvents` deleted ones, from as many sources dirty about
    /// a page of the source index each.
    static let transactionLogBytes = 4 << 20
    /// The checkpoint threshold, one transaction, and the log's index file with room to spare.
    static let logReserveBytes = 8 << 20
    /// Events deleted per retention transaction: a few tens of milliseconds, so the writer is
    /// soon back at its queue.
    static let pruneBatchEvents = 1000
    /// Pages given back to the file system per vacuum step.
    static let vacuumBatchPages = 1024
    /// Background retention keeps the data below this share of its limit, so that a burst finds
    /// room without waiting for a delete.
    static let backgroundFillPercent = 90
    /// Free space kept for reuse rather than given back, as a share of the data limit: a store
    /// at its limit frees and refills pages all the time.
    static let keptFreePercent = 10
    static let typicalBytesPerEvent = 256

    var maxStoreBytes: Int
    var maxEvents: Int
    var retentionNanos: UInt64

    init(_ settings: Settings.Store) {
        maxStoreBytes = settings.maxStoreMiB << 20
        maxEvents = settings.maxEvents
        retentionNanos = UInt64(settings.retentionDays) * 86_400 * 1_000_000_000
    }

    var dataLimitBytes: Int { max(Self.logReserveBytes, maxStoreBytes - Self.logReserveBytes) }
    var backgroundTargetBytes: Int { dataLimitBytes / 100 * Self.backgroundFillPercent }

    enum PruneReason: Equatable {
        /// Older than `retention_days`: retention as configured, not a loss.
        case age
        /// Beyond `max_events`: deleted before its time, a loss.
        case count
        /// Beyond `max_store_mib`: deleted before its time, a loss.
        case size
    }

    enum Step: Equatable {
        case prune(events: Int, reason: PruneReason)
        case vacuum(pages: Int)
    }

    /// The next bounded piece of background work, or nil when the store is within its limits.
    func nextStep(_ footprint: StoreFootprint, wallClockNanos: UInt64) -> Step? {
        if footprint.eventSpan > maxEvents {
            return .prune(events: min(footprint.eventSpan - maxEvents, Self.pruneBatchEvents), reason: .count)
        }
        if footprint.liveBytes > backgroundTargetBytes, footprint.eventSpan > 0 {
            let excess = footprint.liveBytes - backgroundTargetBytes
            return .prune(events: min(Self.pruneBatchEvents, excess / footprint.bytesPerEvent + 1), reason: .size)
        }
        if let oldest = footprint.oldestTimeNanos, wallClockNanos > retentionNanos, oldest < wallClockNanos - retentionNanos {
            return .prune(events: Self.pruneBatchEvents, reason: .age)
        }
        let keptFreeBytes = dataLimitBytes / 100 * Self.keptFreePercent
        let overLimit = footprint.databaseBytes - dataLimitBytes
        let beyondKept = footprint.freeBytes - keptFreeBytes
        let surplusBytes = max(overLimit, beyondKept)
        if footprint.canGiveBackSpace, footprint.freePages > 0, surplusBytes >= footprint.pageSizeBytes {
            let pages = min(footprint.freePages, surplusBytes / footprint.pageSizeBytes, Self.vacuumBatchPages)
            return .vacuum(pages: pages)
        }
        return nil
    }

    /// Events to delete before `incoming` more are inserted, so that the data stays within its
    /// limit. At most `incoming` plus a batch: a store far over a lowered limit stops growing at
    /// once and shrinks in the background, without holding the writer up for long.
    func eventsToMakeRoom(_ footprint: StoreFootprint, incoming: Int) -> Int {
        let needed = footprint.liveBytes + 2 * incoming * footprint.bytesPerEvent - dataLimitBytes
        guard needed > 0, footprint.eventSpan > 0 else { return 0 }
        return min(needed / footprint.bytesPerEvent + 1, incoming + Self.pruneBatchEvents)
    }

    /// The log file is large enough that another transaction could take it past its reserve,
    /// unless a checkpoint has copied it all into the database (the log then starts over).
    func logNeedsCheckpoint(_ footprint: StoreFootprint) -> Bool {
        footprint.logFileBytes + Self.transactionLogBytes > Self.logReserveBytes
    }

    /// A reader keeps `blockedBytes` of the log from being copied into the database: another
    /// transaction must wait, or the log would outgrow its reserve. (Letting the log grow into
    /// the database's share would not do: once the reader lets go, the checkpoint copies the
    /// log into the database while the log file still holds it, and the two count it twice.)
    func isFull(logBytes: Int, blockedBytes: Int) -> Bool {
        blockedBytes > 0 && logBytes + Self.transactionLogBytes > Self.logReserveBytes
    }
}
