/// A hash table with a hard capacity and oldest-first expiry, for detection state that an
/// attacker can make grow (one entry per spoofed source or probe).
///
/// The entries themselves live in a ring, in the order they were last touched: an insert or
/// a refresh appends the entry at the young end (a refresh leaves a dead record behind), so
/// the front is always the oldest live entry or a dead record to skip. That gives amortised
/// O(1) expiry by age and O(1) eviction of the oldest entry when full, with no per-entry
/// timers and no scans. A small hash index (`EntryIndex`) maps each key to its ring slot.
///
/// Laid out for the cache, because these tables outgrow it under a scan or a flood:
/// - the index is 8 bytes per bucket and holds no keys, so it is a fraction of the table
///   and mostly stays cached; looking up an absent key (most lookups: a new probe, a remote
///   with no recent connection) reads the index only;
/// - entries are written one after another at the ring's young end and read one after
///   another from its old end as they expire: sequential memory traffic, not random slots.
///
/// The ring has room for `2 * capacity` records, live and dead; when it fills, the live ones
/// are moved together in order (amortised O(1): at least half the ring was dead).
/// Storage is copy-on-write, like the standard collections.
public struct ExpiringTable<Key: FastHashKey, Value> {
    public let capacity: Int
    private var storage: Storage
    /// Entries pushed out by the capacity limit before their time (a flood, or a budget too small).
    public private(set) var evictions: UInt64 = 0

    struct Record {
        var key: Key
        var touchedNanos: UInt64
        /// nil: a dead record (its entry was removed, or moved to the young end).
        var value: Value?
    }

    /// Ring records per entry of capacity: live entries plus the dead records between them.
    static var ringRecordsPerEntry: Int { 2 }

    /// Memory of the table at `capacity` entries, at worst: the index, the full ring, plus
    /// `extraBytesPerEntry` that each value owns elsewhere.
    static func bytes(capacity: Int, extraBytesPerEntry: Int = 0) -> Int {
        EntryIndex.bytes(forMaximumCount: capacity) + ringRecordsPerEntry * capacity * MemoryLayout<Record>.stride
            + capacity * extraBytesPerEntry
    }

    /// The largest capacity whose worst case (`bytes(capacity:extraBytesPerEntry:)`) fits in
    /// `budget` bytes; at least 12.
    static func capacity(fittingIn budget: Int, extraBytesPerEntry: Int = 0) -> Int {
        let perEntry = ringRecordsPerEntry * MemoryLayout<Record>.stride + extraBytesPerEntry
        var best = 12
        var maximumCount = 16
        // Each index size holds up to its maximum count; what it leaves of the budget pays
        // for the ring and the values' own memory.
        while true {
            let indexBytes = EntryIndex.bytes(forMaximumCount: maximumCount)
            guard indexBytes < budget else { break }
            let fit = min(maximumCount, (budget - indexBytes) / perEntry)
            best = max(best, fit)
            guard fit == maximumCount else { break }
            maximumCount *= 2
        }
        return best
    }

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        storage = Storage(capacity: capacity, ringCapacity: Self.ringRecordsPerEntry * capacity, seed: .random())
    }

    public var count: Int { storage.liveCount }
    public var isEmpty: Bool { storage.liveCount == 0 }

    /// Starts loading the index bucket where a lookup of `key` begins, so that a lookup a
    /// little later finds it in cache: for callers that know their next keys ahead (see
    /// `DetectionEngine.prefetch`). Changes nothing.
    @inline(__always)
    public func prefetch(_ key: Key) {
        storage.index.prefetch(hash: storage.hash(key))
    }

    /// How far ahead of the ring's front `expire`'s callers prefetch what they will look up
    /// for each expired entry: enough for the loads to overlap, few enough that they are
    /// still in cache when reached.
    static var expiryPrefetchDistance: Int { 8 }

    public subscript(key: Key) -> Value? {
        guard let found = storage.find(key) else { return nil }
        return storage.records[found.slot].value
    }

    /// Inserts or replaces `key` and marks it touched at `nowNanos`. If the table is full the
    /// oldest entry is evicted first and handed to `evicted`.
    public mutating func upsert(_ key: Key, _ value: Value, nowNanos: UInt64, evicted: (Key, Value) -> Void = { _, _ in }) {
        makeUnique()
        let hash = storage.hash(key)
        if let found = storage.find(key, hash: hash) {
            storage.records[found.slot].value = value
            refresh(found, nowNanos: nowNanos)
            return
        }
        insertAbsent(key, value, hash: hash, nowNanos: nowNanos, evicted: evicted)
    }

    /// Changes `key`'s value in place, first inserting `makeValue()` touched at `nowNanos` if
    /// the key is absent: one lookup where `modify` and then `upsert` would make two. An
    /// entry already present keeps its place and age. Returns whether the key was inserted.
    @discardableResult @inline(__always)
    public mutating func insertOrModify(_ key: Key, nowNanos: UInt64, makeValue: () -> Value,
                                        _ change: (inout Value) -> Void) -> Bool {
        makeUnique()
        let hash = storage.hash(key)
        if let found = storage.find(key, hash: hash) {
            change(&storage.records[found.slot].value!)
            return false
        }
        var value = makeValue()
        change(&value)
        insertAbsent(key, value, hash: hash, nowNanos: nowNanos, evicted: { _, _ in })
        return true
    }

    /// Appends an absent key, evicting the oldest entry first if the table is full.
    private mutating func insertAbsent(_ key: Key, _ value: Value, hash: UInt64, nowNanos: UInt64,
                                       evicted: (Key, Value) -> Void) {
        if storage.liveCount >= capacity { makeRoom(evicted: evicted) }
        if storage.ringIsFull { storage.compact() }
        storage.append(Record(key: key, touchedNanos: nowNanos, value: value), hash: hash)
    }

    /// Changes a present value in place (one lookup, and no copy of a value that holds
    /// heap storage); `refresh` also marks it touched at `nowNanos` and moves it to the
    /// young end.
    @discardableResult
    public mutating func modify(_ key: Key, nowNanos: UInt64, refresh: Bool, _ change: (inout Value) -> Void) -> Bool {
        makeUnique()
        guard let found = storage.find(key) else { return false }
        change(&storage.records[found.slot].value!)
        if refresh { self.refresh(found, nowNanos: nowNanos) }
        return true
    }

    @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        makeUnique()
        guard let found = storage.find(key) else { return nil }
        return storage.remove(found)
    }

    /// Removes, oldest first, every entry last touched at or before `cutoffNanos`.
    public mutating func expire(touchedAtOrBefore cutoffNanos: UInt64, _ expired: (Key, Value) -> Void) {
        makeUnique()
        while let front = storage.front {
            guard storage.records[front].value != nil else {
                storage.popDeadFront()
                continue
            }
            guard storage.records[front].touchedNanos <= cutoffNanos else { return }
            // Removing an entry rewrites its index bucket, a random place in the index:
            // start loading the bucket of the record a few places on now, so that the
            // removals' cache misses overlap instead of each stalling in turn.
            storage.prefetchBucket(ofRecordBehindFront: Self.expiryPrefetchDistance)
            let key = storage.records[front].key
            let value = storage.remove(Found(bucket: storage.bucket(ofSlot: front, key: key), slot: front))
            expired(key, value)
        }
    }

    /// Removes everything, oldest first. Walks the ring alone and then starts a fresh index,
    /// instead of unindexing entry by entry (a cache miss each, in a large table).
    public mutating func drain(_ each: (Key, Value) -> Void) {
        makeUnique()
        storage.drain(each)
    }

    /// Moves a found entry to the young end, touched at `nowNanos`.
    private mutating func refresh(_ found: Found, nowNanos: UInt64) {
        guard !storage.isNewest(found.slot) else {
            storage.records[found.slot].touchedNanos = nowNanos
            return
        }
        var found = found
        if storage.ringIsFull {
            storage.compact()
            found.slot = storage.index.slot(inBucket: found.bucket)
        }
        storage.moveToYoungEnd(found, nowNanos: nowNanos)
    }

    private mutating func makeRoom(evicted: (Key, Value) -> Void) {
        while storage.liveCount >= capacity, let front = storage.front {
            guard storage.records[front].value != nil else {
                storage.popDeadFront()
                continue
            }
            let key = storage.records[front].key
            let value = storage.remove(Found(bucket: storage.bucket(ofSlot: front, key: key), slot: front))
            evictions &+= 1
            evicted(key, value)
            // A full table evicts again on its next insert: the next victim's bucket is
            // loaded by then (see `expire`).
            storage.prefetchBucket(ofRecordBehindFront: 0)
        }
    }

    @inline(__always)
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// Where a present key is: its index bucket and its ring slot.
    struct Found {
        var bucket: Int
        var slot: Int
    }

    /// The ring of records and the index over it, in raw memory. Records from `head` for
    /// `used` slots (wrapping) are initialised, live or dead; the rest are not.
    final class Storage: @unchecked Sendable {
        let seed: FastHashSeed
        let ringCapacity: Int
        let records: UnsafeMutablePointer<Record>
        var index: EntryIndex
        private var head = 0
        private var used = 0
        private(set) var liveCount = 0

        init(capacity: Int, ringCapacity: Int, seed: FastHashSeed) {
            self.seed = seed
            self.ringCapacity = ringCapacity
            // Uninitialised, so the kernel commits pages only as the ring reaches them.
            records = .allocate(capacity: ringCapacity)
            TableMemory.adviseNewBlock(UnsafeMutableRawPointer(records), byteCount: ringCapacity * MemoryLayout<Record>.stride)
            index = EntryIndex(maximumCount: capacity)
        }

        deinit {
            while used > 0 { popFront() }
            records.deallocate()
            index.deallocate()
        }

        func copy() -> Storage {
            let copy = Storage(capacity: index.maximumCount, ringCapacity: ringCapacity, seed: seed)
            var slot = head
            for _ in 0..<used {
                let record = records[slot]
                if record.value != nil { copy.append(record, hash: hash(record.key)) }
                slot = next(slot)
            }
            return copy
        }

        @inline(__always)
        func hash(_ key: Key) -> UInt64 { key.hash(seed: seed) }

        var ringIsFull: Bool { used == ringCapacity }
        /// The oldest record's slot, live or dead.
        var front: Int? { used == 0 ? nil : head }

        @inline(__always)
        private func next(_ slot: Int) -> Int {
            slot &+ 1 == ringCapacity ? 0 : slot &+ 1
        }

        @inline(__always)
        func isNewest(_ slot: Int) -> Bool {
            var newest = head &+ used &- 1
            if newest >= ringCapacity { newest &-= ringCapacity }
            return slot == newest
        }

        @inline(__always)
        func find(_ key: Key) -> Found? {
            find(key, hash: hash(key))
        }

        /// `find` with the key's hash already made.
        @inline(__always)
        func find(_ key: Key, hash: UInt64) -> Found? {
            index.find(hash: hash) { records[$0].key == key }.map { Found(bucket: $0.bucket, slot: $0.slot) }
        }

        /// Starts loading the index bucket of the record `distance` places from the front,
        /// if there is one and it is live. Changes nothing.
        @inline(__always)
        func prefetchBucket(ofRecordBehindFront distance: Int) {
            guard distance < used else { return }
            var slot = head &+ distance
            if slot >= ringCapacity { slot &-= ringCapacity }
            guard records[slot].value != nil else { return }
            index.prefetch(hash: hash(records[slot].key))
        }

        /// The bucket that points at `slot`, which holds a live record of `key`.
        func bucket(ofSlot slot: Int, key: Key) -> Int {
            index.bucket(ofSlot: slot, hash: hash(key))
        }

        /// Appends a live record at the young end and indexes it; the ring must have room
        /// and the key must be absent.
        func append(_ record: Record, hash: UInt64) {
            precondition(used < ringCapacity, "ExpiringTable: ring full")
            var slot = head &+ used
            if slot >= ringCapacity { slot &-= ringCapacity }
            (records + slot).initialize(to: record)
            used += 1
            liveCount += 1
            index.insert(slot: slot, hash: hash)
        }

        /// Takes a live entry out: unindexed, its record left dead.
        func remove(_ found: Found) -> Value {
            index.remove(bucket: found.bucket)
            liveCount -= 1
            let value = records[found.slot].value.take()!
            if found.slot == head { popDeadFront() }
            return value
        }

        /// Moves a live entry's record to the young end; the ring must have room.
        func moveToYoungEnd(_ found: Found, nowNanos: UInt64) {
            precondition(used < ringCapacity, "ExpiringTable: ring full")
            let value = records[found.slot].value.take()
            var slot = head &+ used
            if slot >= ringCapacity { slot &-= ringCapacity }
            (records + slot).initialize(to: Record(key: records[found.slot].key, touchedNanos: nowNanos, value: value))
            used += 1
            index.setSlot(slot, inBucket: found.bucket)
            if found.slot == head { popDeadFront() }
        }

        /// Hands over every live record, oldest first, and leaves the table empty.
        func drain(_ each: (Key, Value) -> Void) {
            index.deallocate()
            index = EntryIndex(maximumCount: index.maximumCount)
            liveCount = 0
            while used > 0 {
                let record = (records + head).move()
                head = next(head)
                used -= 1
                if let value = record.value { each(record.key, value) }
            }
        }

        /// Drops the front record, which must be dead.
        func popDeadFront() {
            precondition(used > 0 && records[head].value == nil, "ExpiringTable: front record is live")
            popFront()
        }

        private func popFront() {
            (records + head).deinitialize(count: 1)
            head = next(head)
            used -= 1
        }

        /// Moves the live records together at the old end, in order, dropping the dead ones.
        func compact() {
            var target = head
            var source = head
            for _ in 0..<used {
                if records[source].value == nil {
                    (records + source).deinitialize(count: 1)
                } else {
                    if source != target {
                        // Targets trail sources, so no live record is overwritten, and no
                        // other bucket points at `source` yet.
                        let bucket = index.bucket(ofSlot: source, hash: hash(records[source].key))
                        (records + target).moveInitialize(from: records + source, count: 1)
                        index.setSlot(target, inBucket: bucket)
                    }
                    target = next(target)
                }
                source = next(source)
            }
            used = liveCount
        }
    }
}
