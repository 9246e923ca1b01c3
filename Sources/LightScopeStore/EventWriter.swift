import LightScopeCore
import LightScopeSystem

/// What the writer thread does with each batch: anonymise, store in one transaction, send to
/// the journal, and keep the store within its limits (`StoreRetention`). Used on the writer
/// thread only.
///
/// The store may fail at any time (disk full, directory gone, read-only remount). The writer
/// then counts the batch as lost, logs at most once a minute, drops the connection, and opens
/// it again with the next batch, so writing resumes on its own once the admin fixes the cause.
final class EventWriter {
    typealias LogFunction = @Sendable (LogLevel, String) -> Void

    static let errorLogInterval: Duration = .seconds(60)
    /// Events deleted before their time to stay within the limits are reported at most this often.
    static let earlyDeletionLogInterval: Duration = .seconds(3600)
    /// How often a store that is within its limits and receives nothing is looked at again
    /// (for events that have aged past retention_days): not on every wake-up of an idle writer.
    static let idleRetentionInterval: Duration = .seconds(60)

    let databasePath: String
    private(set) var store: EventStore?
    private var settings: Settings.Store
    private var anonymiser: AddressAnonymiser
    private let journal: JournalSink?
    private let counters: EventCounters
    private let log: LogFunction
    private var errorThrottle = ErrorThrottle(interval: EventWriter.errorLogInterval)
    /// Events lost since the store last worked; non-nil while it is failing.
    private var lostWhileFailing: Int?
    private var retention: StoreRetention
    private var earlyDeletionThrottle = ErrorThrottle(interval: EventWriter.earlyDeletionLogInterval)
    private var deletedEarlySinceLastLog = 0
    private var fullThrottle = ErrorThrottle(interval: EventWriter.errorLogInterval)
    private var lostWhileFull = 0
    /// A fleet shipper is configured: events past its cursor are not delivered yet, and
    /// retention that removes them loses them (`fleet`). Set by the pipeline on each wake-up.
    var isFleetShipping = false
    /// Inserted since the last background retention, which must delete at least as many when the
    /// store is at a limit.
    private var insertedSinceRetention = 0
    /// While nothing arrives, retention waits until then after a pass that found nothing to do.
    private var nextIdleRetentionNanos: UInt64 = 0
    /// Event lines the journal may take; a flood beyond it is summarised, not sent line by line.
    private var journalBudget: LineBudget
    private var lastFloodSummaryNanos: UInt64 = 0
    static let floodSummaryInterval: Duration = .seconds(10)

    init(databasePath: String, settings: Settings.Store, anonymiser: AddressAnonymiser, journal: JournalSink?,
         counters: EventCounters, log: @escaping LogFunction) {
        self.databasePath = databasePath
        self.settings = settings
        self.anonymiser = anonymiser
        self.journal = journal
        self.counters = counters
        self.log = log
        journalBudget = Self.journalBudget(settings)
        retention = StoreRetention(settings)
    }

    private static func journalBudget(_ settings: Settings.Store) -> LineBudget {
        LineBudget(ratePerSecond: settings.journalEventsPerSecond, burst: settings.journalEventsPerSecond * 4)
    }

    func reconfigure(settings: Settings.Store, anonymiser: AddressAnonymiser) {
        retention = StoreRetention(settings)
        nextIdleRetentionNanos = 0
        if settings.journalEventsPerSecond != self.settings.journalEventsPerSecond {
            journalBudget = Self.journalBudget(settings)
        }
        self.settings = settings
        self.anonymiser = anonymiser
    }

    func write(_ events: some Collection<UnwantedEvent>, monotonicNanos: UInt64) {
        guard !events.isEmpty else { return }
        write(events.map(anonymiser.record(for:)), events: events.count, monotonicNanos: monotonicNanos)
    }

    /// Stores flood blocks, one row each; each counts as the events it stands for, written or lost.
    func write(blocks: some Collection<EventAggregates.ClosedBlock>, monotonicNanos: UInt64) {
        guard !blocks.isEmpty else { return }
        let events = blocks.reduce(0) { $0 + $1.events }
        var rows: [(record: EventRecord, bytes: [UInt8])] = []
        rows.reserveCapacity(blocks.count)
        do {
            for block in blocks { rows.append(try anonymiser.row(for: block)) }
        } catch {
            counters.addLost(events)
            failed(StoreError("flood block: \(error)"), lostEvents: events, monotonicNanos: monotonicNanos)
            return
        }
        write(rows.map(\.record), blocks: rows.map(\.bytes), events: events,
              aggregates: blocks.reduce(0) { $0 + $1.aggregates }, monotonicNanos: monotonicNanos)
    }

    /// `events`: how many events the records stand for (more than records when `blocks` are
    /// given: then `aggregates` is how many aggregates the blocks hold).
    private func write(_ records: [EventRecord], blocks: [[UInt8]]? = nil, events: Int, aggregates: Int = 0, monotonicNanos: UInt64) {
        do {
            let store = try openedStore()
            switch try retention.makeRoom(in: store, for: records.count) {
            case .full(let logBytes):
                counters.addLost(events)
                storeFull(lostEvents: events, logBytes: logBytes, monotonicNanos: monotonicNanos)
            case .fits(let deletedEarly):
                deleted(early: deletedEarly, monotonicNanos: monotonicNanos)
                try store.insert(records, blocks: blocks)
                if blocks != nil {
                    counters.addAggregated(events: events, aggregates: aggregates)
                } else {
                    counters.addWritten(records.count)
                }
                insertedSinceRetention += records.count
                recovered()
            }
        } catch {
            counters.addLost(events)
            failed(error, lostEvents: events, monotonicNanos: monotonicNanos)
        }
        if let journal {
            let now = WallClock.nowNanos()
            let suppressedBefore = journalBudget.suppressed
            for (index, record) in records.enumerated() {
                guard let bytes = blocks?[index] else {
                    if journalBudget.take(atNanos: now) { journal.send(record) }
                    continue
                }
                // A block's aggregates, one line each, decoded only once the budget admits one:
                // under a flood the budget is spent, and the writer pays one count per block.
                let admitted = journalBudget.take(upTo: AggregateBlock.entryCount(of: bytes), atNanos: now)
                guard admitted > 0 else { continue }
                for line in ((try? AggregateBlock.decode(bytes))?.records(row: record) ?? []).prefix(admitted) { journal.send(line) }
            }
            // Say what was left out when the flood eases, and every `floodSummaryInterval` during it.
            if journalBudget.suppressed > 0,
               journalBudget.suppressed == suppressedBefore || now &- lastFloodSummaryNanos >= UInt64(Self.floodSummaryInterval.nanoseconds) {
                lastFloodSummaryNanos = now
                let left = journalBudget.takeSuppressed()
                log(.notice, "\(left) more unwanted-traffic events were not sent to the journal (over [store] journal_events_per_second = \(settings.journalEventsPerSecond)); all of them are in the store: lightscope events")
            }
        }
    }

    /// Opens (and creates) the store now rather than with the first event, so that a quiet host
    /// has an empty store to query; a failure is handled as a failed write would be.
    func openStore(monotonicNanos: UInt64) {
        do {
            _ = try openedStore()
        } catch {
            failed(error, lostEvents: 0, monotonicNanos: monotonicNanos)
        }
    }

    /// Background retention between batches (see `StoreRetention`); true when it stopped with
    /// work left because events were waiting or its time ran out.
    @discardableResult
    func maintain(wallClockNanos: UInt64, monotonicNanos: UInt64, shouldYield: () -> Bool, beat: () -> Void) -> Bool {
        guard let store, insertedSinceRetention > 0 || monotonicNanos >= nextIdleRetentionNanos else { return false }
        do {
            let progress = try retention.runBackground(in: store, wallClockNanos: wallClockNanos, insertedEvents: insertedSinceRetention,
                                                       shouldYield: shouldYield, beat: beat)
            insertedSinceRetention = 0
            deleted(early: progress.deletedEarly, expired: progress.expired, monotonicNanos: monotonicNanos)
            let idle = progress == StoreRetention.Progress()
            nextIdleRetentionNanos = idle ? monotonicNanos + UInt64(Self.idleRetentionInterval.nanoseconds) : 0
            return progress.yielded
        } catch {
            failed(error, lostEvents: 0, monotonicNanos: monotonicNanos)
            return false
        }
    }

    /// Closes the store; every committed batch is already durable (WAL), the close checkpoints it.
    func close() {
        store = nil
    }

    private func openedStore() throws(StoreError) -> EventStore {
        if let store { return store }
        let opened = try EventStore(path: databasePath)
        store = opened
        return opened
    }

    private func failed(_ error: StoreError, lostEvents: Int, monotonicNanos: UInt64) {
        counters.addStoreError()
        // A fresh connection next time: after an I/O error or a vanished file the old one is useless.
        store = nil
        let lost = (lostWhileFailing ?? 0) + lostEvents
        lostWhileFailing = lost
        guard let heldBack = errorThrottle.admit(nowNanos: monotonicNanos) else { return }
        let held = heldBack > 0 ? " (\(heldBack) more failures since the last message)" : ""
        let meanwhile = journal == nil ? "" : ", still sends events to the journal"
        log(.error, "Cannot write events: \(error.message). \(lost) events lost so far\(held); LightScope keeps running\(meanwhile) and retries every second; this message repeats at most once a minute")
    }

    /// Events deleted before `retention_days` to stay within `max_events` or `max_store_mib` are
    /// lost (`disk`): counted, and said at once, then at most once an hour while it goes on.
    /// While a fleet shipper is configured, a deleted event it had not delivered yet, expired
    /// or not, is lost to the fleet instead (`fleet`, said by the runner): each loss counts once.
    private func deleted(early: EventStore.Deletion, expired: EventStore.Deletion = EventStore.Deletion(), monotonicNanos: UInt64) {
        let undeliveredEarly = isFleetShipping ? early.undelivered : 0
        counters.addUndelivered(undeliveredEarly + (isFleetShipping ? expired.undelivered : 0))
        counters.addLost(early.events - undeliveredEarly)
        guard early.events > 0 else { return }
        deletedEarlySinceLastLog += early.events
        guard earlyDeletionThrottle.admit(nowNanos: monotonicNanos) != nil else { return }
        let limits = "[store] max_events = \(settings.maxEvents) or max_store_mib = \(settings.maxStoreMiB)"
        log(.notice, "Event store \(databasePath) is at its limit (\(limits)): \(deletedEarlySinceLastLog) of the oldest events were deleted before retention_days (\(settings.retentionDays)) to make room, counted as lost; raise the limit to keep more. Said at most once an hour while it goes on")
        deletedEarlySinceLastLog = 0
    }

    private func storeFull(lostEvents: Int, logBytes: Int, monotonicNanos: UInt64) {
        lostWhileFull += lostEvents
        guard fullThrottle.admit(nowNanos: monotonicNanos) != nil else { return }
        log(.error, "Event store \(databasePath) is full ([store] max_store_mib = \(settings.maxStoreMiB)): its write-ahead log has grown to \(logBytes >> 20) MiB because a reader keeps a transaction open, so SQLite cannot copy the log into the database. \(lostWhileFull) events lost so far; close the reader (fuser \(databasePath)), and writing resumes; this message repeats at most once a minute")
        lostWhileFull = 0
    }

    private func recovered() {
        guard let lost = lostWhileFailing else { return }
        lostWhileFailing = nil
        errorThrottle.reset()
        log(.notice, "Event store \(databasePath) is writable again; \(lost) events were lost while it was not")
    }
}
