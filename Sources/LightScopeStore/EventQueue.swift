import LightScopeCore
import Synchronization

/// The hand-off between the capture threads and the writer: bounded, so a writer stuck on a
/// slow disk costs dropped events (counted) rather than unbounded memory, and never blocks
/// a packet loop for longer than one append under a lock.
final class EventQueue: Sendable {
    let capacity: Int
    private let pending: Mutex<[UnwantedEvent]>

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        var initial: [UnwantedEvent] = []
        initial.reserveCapacity(capacity)
        pending = Mutex(initial)
    }

    enum PushResult: Equatable {
        case accepted(queued: Int)
        case full
    }

    /// `limit`: refuse once this many are queued (at most `capacity`).
    func push(_ event: UnwantedEvent, limit: Int? = nil) -> PushResult {
        pending.withLock { events in
            guard events.count < min(limit ?? capacity, capacity) else { return .full }
            events.append(event)
            return .accepted(queued: events.count)
        }
    }

    /// Swaps the queued events into `batch` (which must be empty), handing the queue `batch`'s
    /// storage: no allocation under the lock once both buffers have grown.
    func drain(into batch: inout [UnwantedEvent]) {
        precondition(batch.isEmpty)
        pending.withLock { swap(&$0, &batch) }
    }

    var count: Int { pending.withLock { $0.count } }
}
