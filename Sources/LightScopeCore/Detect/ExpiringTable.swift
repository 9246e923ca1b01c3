/// A hash table with a hard capacity and oldest-first expiry, for detection state that an
/// attacker can make grow (one entry per spoofed source or probe).
///
/// Every insert or refresh appends `(key, generation)` to a FIFO ring; the ring's front is
/// always the least recently touched live entry or a stale record of one that has since
/// been touched again (its generation no longer matches, and it is skipped). That gives
/// amortised O(1) expiry by age and O(1) eviction of the oldest entry when full, with no
/// per-entry timers and no scans.
public struct ExpiringTable<Key: Hashable, Value> {
    public let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var ring: Ring
    private var nextGeneration: UInt64 = 0
    /// Entries pushed out by the capacity limit before their time (a flood, or a budget too small).
    public private(set) var evictions: UInt64 = 0

    struct Entry {
        var value: Value
        var generation: UInt64
        var touchedNanos: UInt64
    }

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        ring = Ring(capacity: capacity * 2)
        entries.reserveCapacity(min(capacity, 4096))
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public subscript(key: Key) -> Value? {
        entries[key]?.value
    }

    /// Inserts or replaces `key` and marks it touched at `nowNanos`. If the table is full the
    /// oldest entry is evicted first and handed to `evicted`.
    public mutating func upsert(_ key: Key, _ value: Value, nowNanos: UInt64, evicted: (Key, Value) -> Void = { _, _ in }) {
        // Only a full table needs the extra lookup: one hash per upsert otherwise.
        if entries.count >= capacity, entries[key] == nil { makeRoom(evicted: evicted) }
        touch(key, value: value, nowNanos: nowNanos)
    }

    /// Changes a present value in place (one lookup, and no copy of a value that holds
    /// heap storage); `refresh` also moves it to the young end.
    @discardableResult
    public mutating func modify(_ key: Key, nowNanos: UInt64, refresh: Bool, _ change: (inout Value) -> Void) -> Bool {
        guard let index = entries.index(forKey: key) else { return false }
        change(&entries.values[index].value)
        if refresh {
            nextGeneration &+= 1
            if ring.isFull { compactRing() }
            entries.values[index].generation = nextGeneration
            entries.values[index].touchedNanos = nowNanos
            ring.pushBack(RingRecord(key: key, generation: nextGeneration))
        }
        return true
    }

    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        entries.removeValue(forKey: key)?.value
    }

    /// Removes, oldest first, every entry last touched at or before `cutoffNanos`.
    public mutating func expire(touchedAtOrBefore cutoffNanos: UInt64, _ expired: (Key, Value) -> Void) {
        while let front = ring.front {
            guard let entry = entries[front.key], entry.generation == front.generation else {
                ring.popFront()
                continue
            }
            guard entry.touchedNanos <= cutoffNanos else { return }
            ring.popFront()
            entries[front.key] = nil
            expired(front.key, entry.value)
        }
    }

    /// Removes everything, oldest first.
    public mutating func drain(_ each: (Key, Value) -> Void) {
        expire(touchedAtOrBefore: .max, each)
        entries.removeAll()
    }

    private mutating func touch(_ key: Key, value: Value, nowNanos: UInt64) {
        nextGeneration &+= 1
        if ring.isFull { compactRing() }
        entries[key] = Entry(value: value, generation: nextGeneration, touchedNanos: nowNanos)
        ring.pushBack(RingRecord(key: key, generation: nextGeneration))
    }

    private mutating func makeRoom(evicted: (Key, Value) -> Void) {
        while entries.count >= capacity, let front = ring.front {
            ring.popFront()
            if let entry = entries[front.key], entry.generation == front.generation {
                entries[front.key] = nil
                evictions &+= 1
                evicted(front.key, entry.value)
            }
        }
    }

    /// Drops stale records so the ring has room; live records keep their order.
    private mutating func compactRing() {
        var compacted = Ring(capacity: ring.capacity)
        while let record = ring.front {
            ring.popFront()
            if let entry = entries[record.key], entry.generation == record.generation {
                compacted.pushBack(record)
            }
        }
        ring = compacted
    }

    struct RingRecord {
        var key: Key
        var generation: UInt64
    }

    /// A fixed-size FIFO of ring records.
    struct Ring {
        let capacity: Int
        private var storage: [RingRecord?]
        private var head = 0
        private(set) var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            storage = []
        }

        var isFull: Bool { count == capacity }
        var front: RingRecord? { count == 0 ? nil : storage[head] }

        mutating func pushBack(_ record: RingRecord) {
            precondition(count < capacity)
            let index = (head + count) % capacity
            if index == storage.count { storage.append(record) } else { storage[index] = record }
            count += 1
        }

        mutating func popFront() {
            guard count > 0 else { return }
            storage[head] = nil
            head = (head + 1) % capacity
            count -= 1
        }
    }
}
