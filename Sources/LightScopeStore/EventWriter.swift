import LightScopeCore

/// What the writer thread does with each batch: anonymise, store in one transaction, send to
/// the journal, and prune old events now and then. Used on the writer thread only.
///
/// The store may fail at any time (disk full, directory gone, read-only remount). The writer
/// then counts the batch as lost, logs at most once a minute, drops the connection, and opens
/// it again with the next batch, so writing resumes on its own once the admin fixes the cause.
final class EventWriter {
    typealias LogFunction = @Sendable (LogLevel, String) -> Void

    /// Retention is a DELETE over an index: worth doing every few minutes, not per insert.
    static let retentionInterval: Duration = .seconds(300)
    /// Rows deleted per retention transaction, so the writer beats its heartbeat in between.
    static let retentionChunk = 10_000
    static let errorLogInterval: Duration = .seconds(60)

    let databasePath: String
    private(set) var store: EventStore?
    private var settings: Settings.Store
    private var anonymiser: AddressAnonymiser
    private let journal: JournalSink?
    private let counters: EventCounters
    private let fleetLoss: FleetRetentionLoss
    private let log: LogFunction
    private var errorThrottle = ErrorThrottle(interval: EventWriter.errorLogInterval)
    /// Events lost since the store last worked; non-nil while it is failing.
    private var lostWhileFailing: Int?
    private var nextRetentionNanos: UInt64 = 0
    /// Event lines the journal may take; a flood beyond it is summarised, not sent line by line.
    private var journalBudget: LineBudget
    private var lastFloodSummaryNanos: UInt64 = 0
    static let floodSummaryInterval: Duration = .seconds(10)

    init(databasePath: String, settings: Settings.Store, anonymiser: AddressAnonymiser, journal: JournalSink?,
         counters: EventCounters, fleetLoss: FleetRetentionLoss = FleetRetentionLoss(), log: @escaping LogFunction) {
        self.databasePath = databasePath
        self.settings = settings
        self.anonymiser = anonymiser
        self.journal = journal
        self.counters = counters
        self.fleetLoss = fleetLoss
        self.log = log
        journalBudget = Self.journalBudget(settings)
    }

    private static func journalBudget(_ settings: Settings.Store) -> LineBudget {
        LineBudget(ratePerSecond: settings.journalEventsPerSecond, burst: settings.journalEventsPerSecond * 4)
    }

    func reconfigure(settings: Settings.Store, anonymiser: AddressAnonymiser) {
        if settings.retentionDays < self.settings.retentionDays || settings.maxEvents < self.settings.maxEvents {
            nextRetentionNanos = 0
        }
        if settings.journalEventsPerSecond != self.settings.journalEventsPerSecond {
            journalBudget = Self.journalBudget(settings)
        }
        self.settings = settings
        self.anonymiser = anonymiser
    }

    func write(_ events: some Collection<UnwantedEvent>, monotonicNanos: UInt64) {
        guard !events.isEmpty else { return }
        let records = events.map(anonymiser.record(for:))
        do {
            try openedStore().insert(records)
            counters.addWritten(records.count)
            recovered()
        } catch {
            counters.addLost(records.count)
            failed(error, lostEvents: records.count, monotonicNanos: monotonicNanos)
        }
        if let journal {
            let now = WallClock.nowNanos()
            let suppressedBefore = journalBudget.suppressed
            for record in records where journalBudget.take(atNanos: now) { journal.send(record) }
            // Say what was left out when the flood eases, and every `floodSummaryInterval` during it.
            if journalBudget.suppressed > 0,
               journalBudget.suppressed == suppressedBefore || now &- lastFloodSummaryNanos >= UInt64(Self.floodSummaryInterval.nanoseconds) {
                lastFloodSummaryNanos = now
                let left = journalBudget.takeSuppressed()
                log(.notice, "\(left) more unwanted-traffic events were not sent to the journal (over [store] journal_events_per_second = \(settings.journalEventsPerSecond)); all of them are in the store: lightscope events")
            }
        }
    }

    /// Deletes events beyond `retention_days` and `max_events` when `retentionInterval` has passed.
    func applyRetentionIfDue(wallClockNanos: UInt64, monotonicNanos: UInt64, beat: () -> Void) {
        guard monotonicNanos >= nextRetentionNanos, let store else { return }
        nextRetentionNanos = monotonicNanos + UInt64(Self.retentionInterval.nanoseconds)
        let retentionNanos = UInt64(settings.retentionDays) * 86_400 * 1_000_000_000
        let cutoff = wallClockNanos > retentionNanos ? wallClockNanos - retentionNanos : 0
        let counting = fleetLoss.isShipping
        var unshipped = 0
        do {
            var deleted = 0
            var chunk = 0
            repeat {
                chunk = try store.deleteEvents(before: cutoff, limit: Self.retentionChunk, countingUnshipped: counting, into: &unshipped)
                deleted += chunk
                beat()
            } while chunk == Self.retentionChunk
            repeat {
                chunk = try store.deleteEvents(beyondNewest: settings.maxEvents, limit: Self.retentionChunk,
                                               countingUnshipped: counting, into: &unshipped)
                deleted += chunk
                beat()
            } while chunk == Self.retentionChunk
            if let line = fleetLoss.record(unshippedDeleted: unshipped, maxEvents: settings.maxEvents, retentionDays: settings.retentionDays) {
                log(.warning, line)
            }
            if deleted > 0 {
                log(.info, "Event store retention: deleted \(deleted) events older than \(settings.retentionDays) days or beyond max_events \(settings.maxEvents)")
            }
        } catch {
            failed(error, lostEvents: 0, monotonicNanos: monotonicNanos)
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

    private func recovered() {
        guard let lost = lostWhileFailing else { return }
        lostWhileFailing = nil
        errorThrottle.reset()
        log(.notice, "Event store \(databasePath) is writable again; \(lost) events were lost while it was not")
    }
}
