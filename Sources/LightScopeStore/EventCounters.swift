import LightScopeCore
import Synchronization

/// What the event pipeline has done, readable from any thread (STATUS=, metrics) without locks.
/// Its losses go to the daemon's one `LostEvents`, under `queue`, `disk` and `fleet`.
public final class EventCounters: Sendable {
    public let lost: LostEvents
    private let written = Atomic<UInt64>(0)
    private let storeErrors = Atomic<UInt64>(0)
    private let aggregatedEvents = Atomic<UInt64>(0)
    private let aggregatesWritten = Atomic<UInt64>(0)

    public init(lost: LostEvents = LostEvents()) {
        self.lost = lost
    }

    public struct Snapshot: Equatable, Sendable {
        /// Events committed to the store.
        public var eventsWritten: UInt64
        /// Events that reached the writer but could not be stored (disk full, store unwritable).
        public var eventsLost: UInt64
        /// Events refused because the queue was full: the writer fell behind.
        public var queueDrops: UInt64
        /// Failed store operations (open, insert, retention), each counted once.
        public var storeErrors: UInt64
        /// Events folded into aggregate events that the store committed (docs/store.md,
        /// "Aggregation"); not among `eventsWritten`.
        public var aggregated: UInt64
        /// Aggregate events committed, each standing for one or more of `aggregated`.
        public var aggregatesWritten: UInt64

        public init(eventsWritten: UInt64, eventsLost: UInt64, queueDrops: UInt64, storeErrors: UInt64,
                    aggregated: UInt64 = 0, aggregatesWritten: UInt64 = 0) {
            self.eventsWritten = eventsWritten
            self.eventsLost = eventsLost
            self.queueDrops = queueDrops
            self.storeErrors = storeErrors
            self.aggregated = aggregated
            self.aggregatesWritten = aggregatesWritten
        }
    }

    public var snapshot: Snapshot {
        Snapshot(eventsWritten: written.load(ordering: .relaxed), eventsLost: lost[.disk],
                 queueDrops: lost[.queue], storeErrors: storeErrors.load(ordering: .relaxed),
                 aggregated: aggregatedEvents.load(ordering: .relaxed), aggregatesWritten: aggregatesWritten.load(ordering: .relaxed))
    }

    func addWritten(_ count: Int) { written.wrappingAdd(UInt64(count), ordering: .relaxed) }
    func addAggregated(events: Int, aggregates: Int) {
        aggregatedEvents.wrappingAdd(UInt64(events), ordering: .relaxed)
        aggregatesWritten.wrappingAdd(UInt64(aggregates), ordering: .relaxed)
    }
    func addLost(_ count: Int) { lost.add(UInt64(count), .disk) }
    /// Past the aggregation mark with the aggregate table full, and the queue full too.
    func addAggregationLoss(_ count: Int = 1) { lost.add(UInt64(count), .aggregation) }
    func addQueueDrop(_ count: Int = 1) { lost.add(UInt64(count), .queue) }
    /// Removed from the store before the fleet shipper delivered them.
    func addUndelivered(_ count: Int) { lost.add(UInt64(count), .fleet) }
    func addStoreError() { storeErrors.wrappingAdd(1, ordering: .relaxed) }
}
