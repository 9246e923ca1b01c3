#if canImport(Glibc)
import Glibc
#endif

/// A bounded FIFO between two threads that blocks: `put` waits while it is full, `take`
/// while it is empty. For handing reusable buffers back and forth between a producer thread
/// and a consumer thread (a pair of queues: full buffers one way, empty ones back).
///
/// A pthread mutex and condition variable, not a spin or an atomic ring: the threads hand
/// over large batches, so a handoff is rare and may sleep, and ThreadSanitizer understands
/// these primitives.
public final class HandoffQueue<Item>: @unchecked Sendable {
    public let capacity: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    // Optional so that `take` moves an item out instead of copying it: a taken array or
    // buffer must not stay referenced here, or its new owner's next change would copy it.
    private var items: [Item?] = []
    private var head = 0
    private var closed = false

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        changed.deallocate()
    }

    /// Appends `item`, waiting while the queue is full. Returns false (and drops the item)
    /// once the queue is closed.
    @discardableResult
    public func put(_ item: consuming Item) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !closed && items.count - head >= capacity { pthread_cond_wait(changed, mutex) }
        guard !closed else { return false }
        items.append(item)
        pthread_cond_broadcast(changed)
        return true
    }

    /// The oldest item, waiting while the queue is empty; nil once it is closed and empty.
    public func take() -> Item? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !closed && items.count == head { pthread_cond_wait(changed, mutex) }
        guard items.count > head else { return nil }
        let item = items[head].take()!
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        pthread_cond_broadcast(changed)
        return item
    }

    /// No more puts: waiting takers get what is left, then nil; waiting putters give up.
    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }
}
