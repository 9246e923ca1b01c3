import LightScopeCore
import Synchronization

/// What the event pipeline has done, readable from any thread (STATUS=, metrics) without locks.
/// Its losses go to the daemon's one `LostEvents`, under `queue`, `disk` and `fleet`.
public final class EventCounters: Sendable {
    public let lost: LostEvents
    private let written = Atomic<UInt64>(0)
    private let storeErrors = Atomic<UInt64>(0)

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

        public init(eventsWritten: UInt64, eventsLost: UInt64, queueDrops: UInt64, storeErrors: UInt64) {
            self.eventsWritten = eventsWritten
            self.eventsLost = eventsLost
            self.queueDrops = queueDrops
            self.storeErrors = storeErrors
        }
    }

    public var snapshot: Snapshot {
        Snapshot(eventsWritten: written.load(ordering: .relaxed), eventsLost: lost[.disk],
                 queueDrops: lost[.queue], storeErrors: storeErrors.load(ordering: .relaxed))
    }

    func addWritten(_ count: Int) { written.wrappingAdd(UInt64(count), ordering: .relaxed) }
    func addLost(_ count: Int) { lost.add(UInt64(count), .disk) }
    func addQueueDrop() { lost.add(1, .queue) }
    /// Removed from the store before the fleet shipper delivered them.
    func addUndelivered(_ count: Int) { lost.add(UInt64(count), .fleet) }
    func addStoreError() { storeErrors.wrappingAdd(1, ordering: .relaxed) }
}
