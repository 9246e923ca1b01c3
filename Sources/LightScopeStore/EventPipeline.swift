import LightScopeCore
import LightScopeSystem
import LightScopeLogging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Carries events from the capture threads to the sinks: `submit` never blocks (a bounded
/// queue, drops counted when full), and ONE dedicated writer thread drains the queue at least
/// once per `commitInterval`, writing each batch in transactions of at most
/// `maximumEventsPerTransaction` events, so a SIGKILL loses at most
/// about a second of events and SIGTERM (`stop`) loses none.
///
/// The writer beats `heartbeat` on every wake-up, so the runner's watchdog supervises it like a
/// packet loop. A dedicated pthread rather than a Swift concurrency task, because the writer
/// blocks in poll(2) and SQLite's fsyncs, which must never occupy the cooperative pool.
public final class EventPipeline: SupervisedLoop, @unchecked Sendable {
    public typealias LogFunction = @Sendable (LogLevel, String) -> Void

    /// The longest a submitted event waits before it is committed (plus the write itself).
    public static let commitInterval: Duration = .seconds(1)
    /// About a second of a heavy scan flood; beyond it the writer is behind and events are dropped.
    public static let defaultQueueCapacity = 65_536
    /// Events per transaction; the writer beats between transactions. A full queue in one
    /// transaction took longer than the stall limit on a slow store during a flood, and the
    /// watchdog restarted a daemon that was only busy.
    public static let maximumEventsPerTransaction = 4096
    /// Retention gives way to the queue once this share of it (1/8) is taken: the queue then
    /// still has room for the events of several retention steps.
    static let retentionYieldFraction = 8
    /// Aggregation's second trigger: once the queue holds this share of its capacity (1/2),
    /// the writer is about half a second behind (a slow disk), and events are folded into
    /// aggregates even below `EventRateBucket.eventsPerSecond` (docs/store.md, "Aggregation").
    public static let aggregationQueueFraction = 2
    /// Aggregates held at once (one per verdict, port, source network and minute), in open and
    /// closed flood blocks, before an event past the mark that opens a new one is lost
    /// (`aggregation`), unless the queue still has room beyond the mark. As many as the pending
    /// table's 1,000,000 probes at the default budget, and then some: packed, about 9 bytes
    /// each for IPv4 (docs/capacity.md).
    public static let defaultAggregateCapacity = 1_048_576

    public let heartbeat = Heartbeat(loopName: "event writer")
    public let counters: EventCounters
    public let databasePath: String
    private let queue: EventQueue
    /// Events queued before the rest are folded into `aggregates`; nil: never aggregate.
    public let aggregationMark: Int?
    /// The aggregates, and the rate below which events are not folded into them.
    private let aggregates: Mutex<Folding>

    private struct Folding: ~Copyable {
        var rate = EventRateBucket()
        var table: EventAggregates
    }
    /// Aggregates held at which the writer is woken early: half the capacity (worked out once,
    /// not a division per folded event).
    private let aggregateWakeMark: Int
    /// A byte on it wakes the writer early: on stop, or when the queue is half full.
    private let wakePipe = WakePipe()
    private let stopRequested = Atomic<Bool>(false)
    private let pendingConfiguration = Mutex<(Settings.Store, AddressAnonymiser)?>(nil)
    private let fleetShipping = Atomic<Bool>(false)
    private let thread = DedicatedThread()
    /// How long the writer sleeps between drains: the commit interval, or less when the
    /// watchdog needs every loop to beat more often (a quarter of its ping interval).
    private let wakeIntervalMilliseconds: Atomic<Int64>
    // Touched only on the writer thread once started.
    private let writer: EventWriter

    /// - Parameters:
    ///   - stateDirectory: from `StateDirectory.resolve`; must exist (the store file is created).
    ///   - anonymiser: from `AddressAnonymiser.load(mode:stateDirectory:)`.
    ///   - journal: nil sends no event lines anywhere (tests); by default the journal or stderr.
    ///   - log: where store errors and notices go; `Log` by default.
    ///   - lost: where the pipeline counts what it loses (the daemon's one count of lost events).
    public init(stateDirectory: String, settings: Settings.Store, anonymiser: AddressAnonymiser,
                journal: JournalSink? = JournalSink(), queueCapacity: Int = EventPipeline.defaultQueueCapacity,
                aggregateCapacity: Int = EventPipeline.defaultAggregateCapacity,
                wakeInterval: Duration = EventPipeline.commitInterval,
                log: @escaping LogFunction = EventPipeline.systemLog, lost: LostEvents = LostEvents()) {
        counters = EventCounters(lost: lost)
        wakeIntervalMilliseconds = Atomic(Self.clampedWakeMilliseconds(wakeInterval))
        databasePath = stateDirectory + "/" + EventStore.fileName
        queue = EventQueue(capacity: queueCapacity)
        aggregationMark = aggregateCapacity > 0 ? max(1, queueCapacity / Self.aggregationQueueFraction) : nil
        aggregates = Mutex(Folding(table: EventAggregates(capacity: aggregateCapacity)))
        aggregateWakeMark = aggregateCapacity / 2
        writer = EventWriter(databasePath: databasePath, settings: settings, anonymiser: anonymiser,
                             journal: journal, counters: counters, log: log)
    }

    public static let systemLog: LogFunction = { level, message in
        switch level {
        case .critical: Log.critical(message)
        case .error: Log.error(message)
        case .warning: Log.warning(message)
        case .notice: Log.notice(message)
        case .info: Log.info(message)
        case .debug: Log.debug(message)
        }
    }

    /// Creates the store (schema included) if there is none, then starts the writer thread.
    public func start() {
        writer.openStore(monotonicNanos: MonotonicClock.nowNanos())
        thread.start(name: "ls-events") { [self] in run() }
    }

    /// Hands an event to the writer without blocking. Above `EventRateBucket`'s rate, or past
    /// `aggregationMark`, it is folded into an aggregate event instead; false (and counted
    /// lost, `queue` or `aggregation`) when neither the queue nor the aggregate table has room,
    /// or the pipeline is stopping. Safe from any thread.
    @discardableResult
    public func submit(_ event: UnwantedEvent) -> Bool {
        guard !stopRequested.load(ordering: .relaxed) else {
            counters.addQueueDrop()
            return false
        }
        // Above the rate: folded at once, under one lock, without a look at the queue.
        let aboveRate = aggregationMark == nil ? nil : aggregates.withLock { folding -> (EventAggregates.Fold, Int, Int)? in
            folding.rate.admits(atNanos: event.timeNanos) ? nil
                : (folding.table.fold(event), folding.table.count, folding.table.closedBlocks)
        }
        let (fold, held, closedBlocks): (EventAggregates.Fold, Int, Int)
        if let aboveRate {
            (fold, held, closedBlocks) = aboveRate
        } else {
            if case .accepted(let queued) = queue.push(event, limit: aggregationMark) {
                if queued == queue.capacity / 2 { wake() }
                return true
            }
            guard aggregationMark != nil else {
                counters.addQueueDrop()
                return false
            }
            // The writer is behind: the second trigger.
            (fold, held, closedBlocks) = aggregates.withLock { folding in
                (folding.table.fold(event), folding.table.count, folding.table.closedBlocks)
            }
        }
        if fold != .refused {
            // Closed blocks wait for the writer, which takes them at least once a second: wake it
            // early when a transaction's worth is ready, not for each (a transaction per 9 KiB
            // block cost the writer more than the block), or when the table is half full.
            if fold == .foldedAndClosed && closedBlocks == Self.blocksPerTransaction || held == aggregateWakeMark { wake() }
            return true
        }
        // The table is full: what the queue holds beyond the mark is the last resort.
        if case .accepted = queue.push(event) { return true }
        counters.addAggregationLoss()
        return false
    }

    /// `submit` of each event in order, with the aggregates' lock taken once for them all and
    /// the writer woken at most once: a packet loop hands over a ring drain's or a timer run's
    /// events at once (under a flood of probes, nearly all folded, a lock per probe). Every
    /// event is decided as `submit` decides it, in the same order, so the rate bucket, the
    /// queue, the aggregates and the loss counts come out the same. How many it accepted.
    @discardableResult
    public func submit(contentsOf events: [UnwantedEvent]) -> Int {
        events.withUnsafeBufferPointer { submit(contentsOf: $0) }
    }

    /// `submit(contentsOf:)` of events where they are (a packet loop's `EventHandOverBuffer`).
    @discardableResult
    public func submit(contentsOf events: UnsafeBufferPointer<UnwantedEvent>) -> Int {
        guard !events.isEmpty else { return 0 }
        guard !stopRequested.load(ordering: .relaxed) else {
            counters.addQueueDrop(events.count)
            return 0
        }
        guard let mark = aggregationMark else {
            var accepted = 0
            for event in events where submit(event) { accepted &+= 1 }
            return accepted
        }
        var wakeWriter = false
        var lost = 0
        // The queue's lock is taken inside this one (never the other way round) for the few
        // events the rate admits, so that they keep their place among the folded ones.
        // Through a pointer: a copy of each 173-byte event was a memcpy call.
        let accepted = aggregates.withLock { folding -> Int in
            guard let first = events.baseAddress else { return 0 }
            var accepted = 0
            for index in events.indices {
                if folding.rate.admits(atNanos: first[index].timeNanos) {
                    if case .accepted(let queued) = queue.push(events[index], limit: mark) {
                        if queued == queue.capacity / 2 { wakeWriter = true }
                        accepted &+= 1
                        continue
                    }
                    // The writer is behind: the second trigger.
                }
                let fold = folding.table.fold(first + index)
                if fold != .refused {
                    if fold == .foldedAndClosed && folding.table.closedBlocks == Self.blocksPerTransaction
                        || folding.table.count == aggregateWakeMark { wakeWriter = true }
                    accepted &+= 1
                } else if case .accepted = queue.push(events[index]) {
                    accepted &+= 1
                } else {
                    lost &+= 1
                }
            }
            return accepted
        }
        if lost > 0 { counters.addAggregationLoss(lost) }
        if wakeWriter { wake() }
        return accepted
    }

    /// Events it can take now without losing any: the queue's room, plus the aggregate
    /// table's (each free aggregate takes at least one event).
    public var room: Int {
        max(0, queue.capacity - queue.count) + (aggregationMark == nil ? 0 : aggregates.withLock { $0.table.room })
    }

    /// Aggregates not yet handed to the writer, in open and closed flood blocks.
    public var openAggregates: Int { aggregates.withLock { $0.table.count } }

    /// New `[store]` settings (on reload); the writer takes them before its next batch.
    public func reconfigure(settings: Settings.Store, anonymiser: AddressAnonymiser) {
        pendingConfiguration.withLock { $0 = (settings, anonymiser) }
    }

    /// Whether a fleet shipper is configured: retention then counts the events it removes
    /// before the shipper delivered them as lost (`fleet`). Set it before `start`.
    public var isFleetShipping: Bool {
        get { fleetShipping.load(ordering: .relaxed) }
        set { fleetShipping.store(newValue, ordering: .relaxed) }
    }

    /// Events waiting for the writer.
    public var queuedEvents: Int { queue.count }
    /// Events the queue holds before it drops (`EventLossReason.queue`).
    public var queueCapacity: Int { queue.capacity }

    /// Writes everything queued, commits, closes the store and ends the writer. Stop the capture
    /// loops first: events submitted after this call are dropped. False if the writer did not
    /// end within `timeout` (a hung disk); it is then left behind, never killed mid-transaction.
    public func stop(timeout: Duration) -> Bool {
        stopRequested.store(true, ordering: .releasing)
        wake()
        return thread.join(timeout: timeout)
    }

    /// The watchdog's timing changed (reload): wake at least this often from now on.
    public func setWakeInterval(_ interval: Duration) {
        wakeIntervalMilliseconds.store(Self.clampedWakeMilliseconds(interval), ordering: .relaxed)
        wake()
    }

    private static func clampedWakeMilliseconds(_ interval: Duration) -> Int64 {
        max(1, min(interval, commitInterval).milliseconds)
    }

    private func wake() {
        wakePipe.wake()
    }

    private func run() {
        var descriptor = pollfd(fd: wakePipe.readEnd, events: Int16(POLLIN), revents: 0)
        var batch: [UnwantedEvent] = []
        batch.reserveCapacity(queue.capacity)
        heartbeat.beat()
        var retentionYielded = false
        while true {
            // Retention that gave way to waiting events goes on as soon as they are written.
            _ = poll(&descriptor, 1, retentionYielded ? 0 : Int32(wakeIntervalMilliseconds.load(ordering: .relaxed)))
            wakePipe.drain()
            let stopping = stopRequested.load(ordering: .acquiring)
            let now = MonotonicClock.nowNanos()
            heartbeat.beat(now: now)
            if let (settings, anonymiser) = pendingConfiguration.withLock({ configuration in
                defer { configuration = nil }
                return configuration
            }) {
                writer.reconfigure(settings: settings, anonymiser: anonymiser)
            }
            writer.isFleetShipping = isFleetShipping
            repeat {
                queue.drain(into: &batch)
                for start in stride(from: 0, to: batch.count, by: Self.maximumEventsPerTransaction) {
                    writer.write(batch[start..<min(start + Self.maximumEventsPerTransaction, batch.count)], monotonicNanos: now)
                    heartbeat.beat()
                }
                batch.removeAll(keepingCapacity: true)
                flushAggregates(all: stopping, monotonicNanos: now)
            } while stopping && (queue.count > 0 || openAggregates > 0)
            retentionYielded = writer.maintain(wallClockNanos: WallClock.nowNanos(), monotonicNanos: MonotonicClock.nowNanos(),
                                               shouldYield: { queue.count >= queue.capacity / Self.retentionYieldFraction }) {
                heartbeat.beat()
            }
            if stopping { break }
        }
        writer.close()
    }

    /// Hands the writer the flood blocks that are full or whose minute has closed; all of them
    /// on stop, or when the table is half full (an aggregate may then be split in two: no coarser).
    private func flushAggregates(all: Bool, monotonicNanos: UInt64) {
        let closed = aggregates.withLock { folding in
            all || folding.table.count >= folding.table.capacity / 2 ? folding.table.take()
                : folding.table.take(closedBefore: WallClock.nowNanos())
        }
        for start in stride(from: 0, to: closed.count, by: Self.blocksPerTransaction) {
            writer.write(blocks: closed[start..<min(start + Self.blocksPerTransaction, closed.count)], monotonicNanos: monotonicNanos)
            heartbeat.beat()
        }
    }

    /// Flood blocks per transaction: up to 64 x 1,024 aggregates, about 600 KiB for IPv4.
    static let blocksPerTransaction = 64
}
