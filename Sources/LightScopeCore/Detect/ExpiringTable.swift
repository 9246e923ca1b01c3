/// A hash table with a hard capacity and oldest-first expiry, for detection state that an
/// attacker can make grow (one entry per spoofed source or probe).
///
/// Every insert or refresh appends `(key, generation)` to a FIFO ring; the ring's front is
/// always the least recently touched live entry or a stale record of one that has since
/// been touched again (its generation no longer matches, and it is skipped). That gives
/// amortised O(1) expiry by age and O(1) eviction of the oldest entry when full, with no
/// per-entry timers and no scans.
///
/// Storage is a `FastHashTable` (seeded, open addressing) sized for `capacity`, not a
/// `Dictionary`: a packet costs a few table operations, and SipHash was most of their cost.
public struct ExpiringTable<Key: FastHashKey, Value> {
    public let capacity: Int
    private var entries: FastHashTable<Key, Entry>
    private var ring: Ring
    private var nextGeneration: UInt64 = 0
    /// Entries pushed out by the capacity limit before their time (a flood, or a budget too small).
    public private(set) var evictions: UInt64 = 0

    struct Entry {
        var value: Value
        var generation: UInt64
        var touchedNanos: UInt64
    }

    /// Memory of the table at `capacity` entries, at worst: the largest bucket array (a power
    /// of two, load factor at most 3/4), the full ring (`2 * capacity` records), plus
    /// `extraBytesPerEntry` that each value owns elsewhere.
    static func bytes(capacity: Int, extraBytesPerEntry: Int = 0) -> Int {
        FastHashTable<Key, Entry>.bytes(forMaximumCount: capacity)
            + 2 * capacity * MemoryLayout<RingRecord>.stride + capacity * extraBytesPerEntry
    }

    /// The largest capacity whose worst case (`bytes(capacity:extraBytesPerEntry:)`) fits in
    /// `budget` bytes; at least 12.
    static func capacity(fittingIn budget: Int, extraBytesPerEntry: Int = 0) -> Int {
        let perEntry = 2 * MemoryLayout<RingRecord>.stride + extraBytesPerEntry
        var best = 12
        var buckets = 16
        // Each bucket array size holds up to 3/4 of its buckets; what it leaves of the budget
        // pays for the ring and the values' own memory. A larger array leaves less.
        while true {
            let arrayBytes = buckets * FastHashTable<Key, Entry>.slotStride
            guard arrayBytes < budget else { break }
            let fit = min(buckets / 4 * 3, (budget - arrayBytes) / perEntry)
            best = max(best, fit)
            guard fit == buckets / 4 * 3 else { break }
            buckets *= 2
        }
        return best
    }

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        ring = Ring(capacity: capacity * 2)
        entries = FastHashTable(maximumCount: capacity)
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Starts loading where a lookup of `key` will read (see `FastHashTable.prefetch`).
    @inline(__always)
    public func prefetch(_ key: Key) {
        entries.prefetch(key)
    }

    /// How far ahead of the ring's front `expire` prefetches (and its callers, walking what
    /// it expired): enough records for their loads to overlap, few enough that they are
    /// still in cache when reached.
    static var expiryPrefetchDistance: Int { 8 }

    public subscript(key: Key) -> Value? {
        entries[key]?.value
    }

    /// Inserts or replaces `key` and marks it touched at `nowNanos`. If the table is full the
    /// oldest entry is evicted first and handed to `evicted`.
    public mutating func upsert(_ key: Key, _ value: Value, nowNanos: UInt64, evicted: (Key, Value) -> Void = { _, _ in }) {
        // Only a full table needs the extra lookup: one hash per upsert otherwise.
        if entries.count >= capacity, entries.index(of: key) == nil { makeRoom(evicted: evicted) }
        nextGeneration &+= 1
        if ring.isFull { compactRing() }
        entries.updateValue(Entry(value: value, generation: nextGeneration, touchedNanos: nowNanos), forKey: key)
        ring.pushBack(RingRecord(key: key, generation: nextGeneration))
    }

    /// Changes a present value in place (one lookup, and no copy of a value that holds
    /// heap storage); `refresh` also moves it to the young end.
    @discardableResult
    public mutating func modify(_ key: Key, nowNanos: UInt64, refresh: Bool, _ change: (inout Value) -> Void) -> Bool {
        guard let index = entries.index(of: key) else { return false }
        change(&entries[valueAt: index].value)
        if refresh {
            nextGeneration &+= 1
            entries[valueAt: index].generation = nextGeneration
            entries[valueAt: index].touchedNanos = nowNanos
            // Compacting keeps live records only, and this entry's old record is stale now.
            if ring.isFull { compactRing() }
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
            if let ahead = ring.record(at: Self.expiryPrefetchDistance) { entries.prefetch(ahead.key) }
            guard let index = entries.index(of: front.key), entries[valueAt: index].generation == front.generation else {
                ring.popFront()
                continue
            }
            guard entries[valueAt: index].touchedNanos <= cutoffNanos else { return }
            ring.popFront()
            let entry = entries.remove(at: index)
            expired(front.key, entry.value)
        }
    }

    /// Removes everything, oldest first.
    public mutating func drain(_ each: (Key, Value) -> Void) {
        expire(touchedAtOrBefore: .max, each)
        entries.removeAll()
    }

    private mutating func makeRoom(evicted: (Key, Value) -> Void) {
        while entries.count >= capacity, let front = ring.front {
            ring.popFront()
            if let index = entries.index(of: front.key), entries[valueAt: index].generation == front.generation {
                let entry = entries.remove(at: index)
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
            if let index = entries.index(of: record.key), entries[valueAt: index].generation == record.generation {
                compacted.pushBack(record)
            }
        }
        ring = compacted
    }

    struct RingRecord {
        var key: Key
        var generation: UInt64
    }

    /// A fixed-size FIFO of ring records. Popped records are left in place until overwritten
    /// (the keys are plain values), so the ring is a plain array, not one of optionals.
    struct Ring {
        let capacity: Int
        private var storage: [RingRecord]
        private var head = 0
        private(set) var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            // Reserved, not filled: pages become resident as records reach them, and the
            // ring never regrows (and copies itself) under a flood.
            storage = []
            storage.reserveCapacity(capacity)
        }

        var isFull: Bool { count == capacity }
        var front: RingRecord? { count == 0 ? nil : storage[head] }

        /// The record `offset` places behind the front, if there is one.
        func record(at offset: Int) -> RingRecord? {
            guard offset < count else { return nil }
            var index = head &+ offset
            if index >= capacity { index &-= capacity }
            return storage[index]
        }

        mutating func pushBack(_ record: RingRecord) {
            precondition(count < capacity)
            var index = head &+ count
            if index >= capacity { index &-= capacity }
            if index == storage.count { storage.append(record) } else { storage[index] = record }
            count += 1
        }

        mutating func popFront() {
            guard count > 0 else { return }
            head &+= 1
            if head == capacity { head = 0 }
            count -= 1
        }
    }
}
