import LightScopeCore
import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the store within `retention_days`, `max_events` and `max_store_mib` in bounded steps
/// between the writer's transactions, never in one long delete: the writer gets back to its
/// queue after each step whenever events are waiting, so retention never makes the queue
/// overflow while the store has room.
///
/// Only when the store is at a limit does retention hold the writer: each insert is then paid
/// for by deleting at least as many of the oldest events, so a flood cannot outrun it.
struct StoreRetention {
    /// The longest background retention runs per wake-up of the writer when nothing is waiting.
    static let backgroundTimeBudget: Duration = .milliseconds(200)

    var limits: StoreLimits

    init(_ settings: Settings.Store) {
        limits = StoreLimits(settings)
    }

    enum Room: Equatable {
        /// The batch fits; `deletedEarly` events went first to make room for it.
        case fits(deletedEarly: EventStore.Deletion)
        /// The write-ahead log has outgrown its reserve: a reader keeps checkpoints from finishing.
        case full(logBytes: Int)
    }

    /// How long a batch waits for a reader that keeps the log from being checkpointed: a
    /// query of the CLI is over by then.
    static let checkpointRetries = 5
    static let checkpointRetryMicroseconds: UInt32 = 20_000

    /// Before inserting `incoming` events: reports the store full when a reader keeps the log
    /// at its reserve, and deletes the oldest events if the data would pass its limit.
    func makeRoom(in store: EventStore, for incoming: Int) throws(StoreError) -> Room {
        let footprint = try store.footprint()
        if limits.logNeedsCheckpoint(footprint) {
            for attempt in 1...Self.checkpointRetries {
                let log = try store.checkpoint()
                guard limits.isFull(logBytes: log.logBytes, blockedBytes: log.blockedBytes) else { break }
                if attempt == Self.checkpointRetries { return .full(logBytes: log.logBytes) }
                usleep(Self.checkpointRetryMicroseconds)
            }
        }
        var toDelete = limits.eventsToMakeRoom(footprint, incoming: incoming)
        var deleted = EventStore.Deletion()
        while toDelete > 0 {
            let chunk = try store.deleteOldest(limit: min(toDelete, StoreLimits.pruneBatchEvents))
            guard chunk.rows > 0 else { break }
            deleted += chunk
            toDelete -= chunk.rows
        }
        return .fits(deletedEarly: deleted)
    }

    struct Progress: Equatable {
        /// Deleted before `retention_days` because of `max_events` or `max_store_mib`: lost events.
        var deletedEarly = EventStore.Deletion()
        /// Deleted because they were older than `retention_days`; lost only if not yet shipped.
        var expired = EventStore.Deletion()
        /// Stopped with work left because events were waiting or the time budget ran out.
        var yielded = false
    }

    /// Background steps until the store is within its limits, or until `shouldYield` (events are
    /// waiting) or the time budget says stop, but not before as many events were deleted for a
    /// limit as were inserted since the last call.
    func runBackground(in store: EventStore, wallClockNanos: UInt64, insertedEvents: Int,
                       shouldYield: () -> Bool, beat: () -> Void) throws(StoreError) -> Progress {
        let start = MonotonicClock.nowNanos()
        let budget = UInt64(Self.backgroundTimeBudget.nanoseconds)
        var progress = Progress()
        var footprint = try store.footprint()
        while let step = limits.nextStep(footprint, wallClockNanos: wallClockNanos) {
            let keepingPace = step.isPrunedForALimit && progress.deletedEarly.rows < insertedEvents
            if !keepingPace, shouldYield() || MonotonicClock.nowNanos() &- start >= budget {
                progress.yielded = true
                break
            }
            let done: Int
            switch step {
            case .prune(let events, .age):
                let deletion = try store.deleteEvents(before: wallClockNanos - limits.retentionNanos, limit: events)
                progress.expired += deletion
                done = deletion.rows
            case .prune(let events, .count):
                let deletion = try store.deleteEvents(beyondNewest: limits.maxEvents, limit: events)
                progress.deletedEarly += deletion
                done = deletion.rows
            case .prune(let events, .size):
                let deletion = try store.deleteOldest(limit: events)
                progress.deletedEarly += deletion
                done = deletion.rows
            case .vacuum(let pages):
                try store.giveBackFreePages(pages)
                try store.checkpoint()
                done = footprint.freePages - (try store.footprint().freePages)
            }
            beat()
            footprint = try store.footprint()
            // A step that changed nothing would be asked for again forever.
            if done == 0 { break }
        }
        return progress
    }
}

extension StoreLimits.Step {
    var isPrunedForALimit: Bool {
        if case .prune(_, let reason) = self { return reason != .age }
        return false
    }
}
