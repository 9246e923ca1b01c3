/// A hash table with oldest-first expiry and a capacity that grows and shrinks within a
/// shared byte pool, for detection state that an attacker can make grow (one entry per
/// spoofed source or probe).
///
/// The records live in a ring, in the order they were last touched: an insert or a refresh
/// appends the record at the young end (a refresh leaves a dead record behind), so the front
/// is always the oldest live record or a dead one to skip. That gives amortised O(1) expiry
/// by age and O(1) eviction of the oldest entry when full, with no per-entry timers and no
/// scans. A small hash index (`EntryIndex`, 4 bytes a bucket) maps each key to its ring slot.
///
/// Compact, because a flood fills it: records are the owner's packed `TableRecord`s, times
/// are 48-bit offsets, and the ring has room for a quarter more records than the capacity
/// (the dead ones between the live); when it is full, the live records are moved together in
/// order (amortised: a quarter of the ring at least was dead).
///
/// Laid out for the cache: a lookup of an absent key (most lookups: a new probe, a remote
/// with no recent connection) reads the index only; records are written one after another at
/// the young end and read one after another from the old end as they expire.
///
/// It starts small and doubles when full, as long as its `TableBytePool` has the bytes (the
/// pool is shared with the tables of the same kind in other packet loops); when it cannot
/// grow, the oldest entry is evicted, counted, and handed to the caller. `shrinkIfSparse`,
/// called from the owner's timers, gives the memory back after a flood.
/// Storage is copy-on-write, like the standard collections.
@usableFromInline package struct ExpiringTable<Record: TableRecord> {
    @usableFromInline package typealias Key = Record.Key
    @usableFromInline var storage: Storage
    /// The most entries it may ever hold (its pool may let it hold fewer).
    @usableFromInline package let maximumCapacity: Int
    /// Its first size (`initialCapacity`, up to what its pages hold): it never shrinks below.
    @usableFromInline package let minimumCapacity: Int
    @usableFromInline let pool: TableBytePool
    /// Entries pushed out by the capacity limit before their time (a flood, or a budget too small).
    @usableFromInline package var evictions: UInt64 = 0
    /// The pool's free bytes that one entry more needed when `grow` last found too few, or
    /// 0: until the pool has that much again, a full table evicts without working out its
    /// sizes anew (a table held at its pool's limit, such as the connections table under
    /// a stream of new connections, comes to `grow` on every insert).
    @usableFromInline var bytesForOneMore = 0

    /// A table that starts with room for `initialCapacity` entries, or what `pool` has left,
    /// and grows up to `maximumCapacity`, drawing its memory from `pool`. `seed` is its hash's
    /// secret: tables given one seed hash a key alike, so that a caller who looks one key up
    /// in several hashes it once (`hash(of:)`, `insertOrModify(_:hash:...)`).
    @inlinable package init(maximumCapacity: Int, initialCapacity: Int, pool: TableBytePool, seed: FastHashSeed = .random()) {
        precondition(maximumCapacity > 0 && maximumCapacity <= Self.largestCapacity)
        self.maximumCapacity = maximumCapacity
        // Whole pages are taken whatever the capacity: as many entries as they hold.
        func paged(_ capacity: Int) -> Int {
            max(1, min(maximumCapacity, Self.capacity(fittingIn: Self.bytes(capacity: max(1, capacity)))))
        }
        var first = paged(initialCapacity)
        if Self.bytes(capacity: first) > pool.availableBytes {
            // What the pool has left, but a few pages at least: the table must work at all.
            first = max(min(first, paged(Self.leastCapacity)), min(first, Self.capacity(fittingIn: pool.availableBytes)))
        }
        minimumCapacity = first
        self.pool = pool
        let bytes = Self.bytes(capacity: minimumCapacity)
        pool.reserveRegardless(bytes)
        storage = Storage(capacity: minimumCapacity, seed: seed, clock: TableClockBase(), accountedBytes: bytes, pool: pool)
    }

    /// A table of a fixed capacity, outside any budget.
    @inlinable package init(capacity: Int) {
        self.init(maximumCapacity: capacity, initialCapacity: capacity, pool: .unlimited())
    }

    @inlinable package var count: Int { storage.liveCount }
    @inlinable package var isEmpty: Bool { storage.liveCount == 0 }
    /// The entries it has room for now.
    @inlinable package var capacity: Int { storage.capacity }
    /// The memory it holds now, ring and index, in whole pages.
    @inlinable package var reservedBytes: Int { storage.accountedBytes }

    // MARK: - Sizes

    /// Ring records for `capacity` live entries: a quarter more, for the dead between them.
    @inlinable package static func ringCapacity(forCapacity capacity: Int) -> Int { capacity + max(1, capacity / 4) }

    /// The fewest entries a table starts with, whatever its pool has left.
    @inlinable package static var leastCapacity: Int { 16 }

    /// The largest capacity an `EntryIndex` can point at.
    @inlinable package static var largestCapacity: Int { EntryIndex.maximumSlots / 5 * 4 }

    /// Memory of the table at `capacity` entries: the full ring and the index, in whole pages.
    @inlinable package static func bytes(capacity: Int) -> Int {
        TableMemory.pageRounded(ringCapacity(forCapacity: capacity) * MemoryLayout<Record>.stride)
            + EntryIndex.bytes(forMaximumCount: capacity)
    }

    /// The largest capacity whose `bytes(capacity:)` fits in `budget` bytes; 0 if none.
    @inlinable package static func capacity(fittingIn budget: Int) -> Int {
        var low = 0
        var high = largestCapacity
        while low < high {
            let middle = low + (high - low + 1) / 2
            if bytes(capacity: middle) <= budget { low = middle } else { high = middle - 1 }
        }
        return low
    }

    // MARK: - Lookups

    /// Starts loading the index buckets where a lookup of `key` begins, so that a lookup a
    /// little later finds them in cache: for callers that know their next keys ahead (see
    /// `DetectionEngine.prefetch`). Changes nothing.
    @inline(__always)
    @inlinable package func prefetch(_ key: Key) {
        // An index this small stays in the cache on its own (the open stream's pending
        // probes: 8 KiB): the hash and the hints would be work for nothing.
        guard storage.index.bucketCount > Self.cachedIndexBuckets else { return }
        storage.index.prefetch(hash: storage.hash(key))
    }

    /// `prefetch` of the key whose hash (`hash(of:)`) is `hash`.
    @inline(__always)
    @inlinable package func prefetch(hash: UInt64) {
        guard storage.index.bucketCount > Self.cachedIndexBuckets else { return }
        storage.index.prefetch(hash: hash)
    }

    /// `key`'s hash under this table's seed: what `prefetch(hash:)` and
    /// `insertOrModify(_:hash:...)` take, the same in every table made with the same seed.
    @inline(__always)
    @inlinable package func hash(of key: Key) -> UInt64 { storage.hash(key) }

    /// The largest index `prefetch` leaves to the cache: 16 KiB, half a core's L1 data cache.
    @inlinable package static var cachedIndexBuckets: Int { 4096 }

    /// How far ahead of the ring's front `expire`'s callers prefetch what they will look up
    /// for each expired entry: enough for the loads to overlap, few enough that they are
    /// still in cache when reached.
    @inlinable package static var expiryPrefetchDistance: Int { 8 }

    /// The entries of the small rings that keep what was learnt `expiryPrefetchDistance`
    /// places ahead until its record's turn (`frontHints`, `movedHashRing`): the smallest
    /// power of two above that distance, so that an entry outlives the records written
    /// after it in the meantime, and changing the distance alone keeps them right.
    @inlinable package static var aheadRingCount: Int { 1 << (Int.bitWidth - expiryPrefetchDistance.leadingZeroBitCount) }

    @inlinable package subscript(key: Key) -> Record? {
        guard let found = storage.find(key) else { return nil }
        return storage.records[found.slot]
    }

    @inlinable package func contains(_ key: Key) -> Bool { storage.find(key) != nil }

    /// When the entry `key` was last touched, if present.
    @inlinable package func touchedNanos(of key: Key) -> UInt64? {
        storage.find(key).map { storage.clock.nanos(of: storage.records[$0.slot].stamp) }
    }

    /// When the oldest entry was last touched, if any.
    @inlinable package var oldestTouchedNanos: UInt64? {
        storage.dropDeadFront()
        guard let front = storage.front else { return nil }
        return storage.clock.nanos(of: storage.records[front].stamp)
    }

    // MARK: - Changes

    /// Inserts `record` or replaces the entry with its key, and marks it touched at `nowNanos`
    /// (at the young end). If the table is full and cannot grow, the oldest entry is
    /// evicted first and handed to `evicted`.
    @inlinable package mutating func upsert(_ record: Record, nowNanos: UInt64, evicted: (Record, UInt64) -> Void) {
        insertOrModify(record.key, nowNanos: nowNanos, refresh: true, make: { record }, { present, _ in present = record },
                       evicted: evicted)
    }

    /// Changes `key`'s record in place, first inserting `make()` touched at `nowNanos` if the
    /// key is absent: one lookup where a lookup and then an insert make two. An entry already
    /// present keeps its place and age, unless `refresh` marks it touched at `nowNanos` and
    /// moves it to the young end. `change` is given the entry's touched time and must
    /// leave the key as it is. A record made here is live with the `mark` it comes with (1
    /// if it has none); `make` runs after the evictions the insert needs, once `evicted` was
    /// told of them. Returns whether the key was inserted.
    @discardableResult @inline(__always)
    @inlinable package mutating func insertOrModify(_ key: Key, nowNanos: UInt64, refresh: Bool = false, make: () -> Record,
                                 _ change: (inout Record, UInt64) -> Void, evicted: (Record, UInt64) -> Void) -> Bool {
        insertOrModify(key, hash: storage.hash(key), nowNanos: nowNanos, refresh: refresh, make: make, change, evicted: evicted)
    }

    /// `insertOrModify`, with `key`'s hash already made (`hash(of:)`, here or in a table with
    /// the same seed): a caller that looks a key up in several tables hashes it once.
    @discardableResult @inline(__always)
    @inlinable package mutating func insertOrModify(_ key: Key, hash: UInt64, nowNanos: UInt64, refresh: Bool = false,
                                                    make: () -> Record, _ change: (inout Record, UInt64) -> Void,
                                                    evicted: (Record, UInt64) -> Void) -> Bool {
        makeUnique()
        assert(hash == storage.hash(key), "ExpiringTable: a hash made with another seed")
        let stop = storage.walk(key, hash: hash)
        if stop.slot >= 0 {
            let found = Found(bucket: stop.bucket, slot: stop.slot)
            let stamp = storage.records[found.slot].stamp
            change(&storage.records[found.slot], storage.clock.nanos(of: stamp))
            storage.records[found.slot].stamp = stamp
            if refresh { self.refresh(found, nowNanos: nowNanos, evicted: evicted) }
            return false
        }
        // A table that may grow, or a time its clock cannot hold: `insertAbsent`'s path.
        guard let offset = storage.clock.offset(of: nowNanos), storage.liveCount < storage.capacity || !mayGrow else {
            var record = make()
            change(&record, nowNanos)
            insertAbsent(record, hash: hash, nowNanos: nowNanos, evicted: evicted)
            return true
        }
        // The walk stopped at the first empty bucket from the key's home: the insert takes it,
        // or the hole an eviction leaves before it (ExpiringTable+OneWalk.swift); the record is
        // made once the room is made, where it goes, not kept on the stack over the evictions.
        var bucket = stop.bucket
        while storage.liveCount >= storage.capacity {
            guard let (old, touched, hole) = storage.takeFront(prefetching: Self.expiryPrefetchDistance) else { break }
            evictions &+= 1
            bucket = storage.index.firstEmpty(hash: hash, was: bucket, afterHole: hole)
            evicted(old, touched)
        }
        if storage.ringIsFull { storage.compact() }
        var record = make()
        change(&record, nowNanos)
        record.stamp = RecordStamp(offsetNanos: offset, mark: record.stamp.mark == 0 ? 1 : record.stamp.mark)
        storage.append(record, hash: hash, inFirstEmpty: bucket)
        return true
    }

    /// Changes a present record in place (one lookup); `refresh` also marks it touched at
    /// `nowNanos` and moves it to the young end. `change` must leave the key as it is.
    @discardableResult
    @inlinable package mutating func modify(_ key: Key, nowNanos: UInt64, refresh: Bool, _ change: (inout Record, UInt64) -> Void) -> Bool {
        makeUnique()
        guard let found = storage.find(key) else { return false }
        let stamp = storage.records[found.slot].stamp
        change(&storage.records[found.slot], storage.clock.nanos(of: stamp))
        storage.records[found.slot].stamp = stamp
        if refresh { self.refresh(found, nowNanos: nowNanos, evicted: { _, _ in }) }
        return true
    }

    /// Takes `key`'s entry out, with the time it was last touched.
    @discardableResult
    @inlinable package mutating func remove(_ key: Key) -> (record: Record, touchedNanos: UInt64)? {
        makeUnique()
        guard let found = storage.find(key) else { return nil }
        let touched = storage.clock.nanos(of: storage.records[found.slot].stamp)
        return (storage.remove(found), touched)
    }

    /// Removes, oldest first, every entry last touched at or before `cutoffNanos`, or the
    /// `limit` oldest of them. The loop is `expire(touchedAtOrBefore:limit:ahead:_:)`'s
    /// (ExpiringTable+Expiry.swift), with nobody told of the records ahead.
    @inlinable package mutating func expire(touchedAtOrBefore cutoffNanos: UInt64, limit: Int = .max, _ expired: (Record, UInt64) -> Void) {
        expire(touchedAtOrBefore: cutoffNanos, limit: limit, ahead: { _ in }, expired)
    }

    /// Evicts the oldest entry, counted as an eviction; false if the table is empty.
    @inlinable package mutating func evictOldest(_ evicted: (Record, UInt64) -> Void) -> Bool {
        makeUnique()
        storage.dropDeadFront()
        guard let front = storage.front else { return false }
        let touched = storage.clock.nanos(of: storage.records[front].stamp)
        evictions &+= 1
        // A full table evicts once an insert, under a flood for every packet: start loading
        // the bucket of the record a few evictions on, as `expire` does.
        storage.prefetchBucket(ofRecordBehindFront: Self.expiryPrefetchDistance)
        evicted(storage.removeFront(), touched)
        return true
    }

    /// Removes everything, oldest first. Walks the ring alone and then empties the index,
    /// instead of unindexing entry by entry (a cache miss each, in a large table).
    @inlinable package mutating func drain(_ each: (Record, UInt64) -> Void) {
        makeUnique()
        storage.drain(each)
    }

    /// After a flood: halves the table if a quarter of it or less is in use and it is above
    /// its first size, giving the memory back to its pool.
    @inlinable package mutating func shrinkIfSparse() {
        guard storage.capacity > minimumCapacity, storage.liveCount <= storage.capacity / 4 else { return }
        let target = max(minimumCapacity, storage.capacity / 2)
        let bytes = Self.bytes(capacity: target)
        let smaller = storage.moved(toCapacity: target, accountedBytes: bytes)
        pool.release(storage.handOverAccountedBytes() - bytes)
        storage = smaller
        bytesForOneMore = 0
    }

    // MARK: - Inside

    /// Appends an absent key, growing the table or evicting the oldest entry first if full.
    @inlinable mutating func insertAbsent(_ record: Record, hash: UInt64, nowNanos: UInt64, evicted: (Record, UInt64) -> Void) {
        var record = record
        record.stamp = stamp(for: nowNanos, mark: record.stamp.mark, evicted: evicted)
        // A table at its largest, or held at its pool's limit, skips the call to `grow` (a
        // full table under a flood comes here on every insert).
        if storage.liveCount >= storage.capacity && !(mayGrow && grow()) {
            while storage.liveCount >= storage.capacity, evictOldestForInsert(evicted) {}
        }
        if storage.ringIsFull { storage.compact() }
        storage.append(record, hash: hash)
    }

    /// Whether a time is within the range of the table's clock (else the next entry touched
    /// then moves the clock, and may evict; see `TableClockBase`).
    @inline(__always)
    @inlinable package func holdsTime(_ nanos: UInt64) -> Bool { storage.clock.offset(of: nanos) != nil }

    /// Moves the table's clock to centre on `nanos` if it is out of range, evicting (and
    /// counting) what the new range cannot hold.
    @inline(never)
    @inlinable package mutating func moveClock(toInclude nanos: UInt64, evicted: (Record, UInt64) -> Void) {
        makeUnique()
        guard !holdsTime(nanos) else { return }
        evictions &+= UInt64(storage.moveClock(to: .centred(on: nanos), evicted: evicted))
    }

    /// The stamp of a live record touched at `nanos`, moving the table's clock base first if
    /// `nanos` is out of its range (evicting what the new range cannot hold).
    @inline(__always)
    @inlinable mutating func stamp(for nanos: UInt64, mark: UInt8, evicted: (Record, UInt64) -> Void) -> RecordStamp {
        var offset = storage.clock.offset(of: nanos)
        if offset == nil {
            moveClock(toInclude: nanos, evicted: evicted)
            offset = storage.clock.offset(of: nanos)
        }
        return RecordStamp(offsetNanos: offset!, mark: mark == 0 ? 1 : mark)
    }

    /// Whether `grow` may find room: false, without the call, for a table at its largest or
    /// held at its pool's limit (`bytesForOneMore`), which comes to `grow` on every insert.
    @inline(__always)
    @inlinable var mayGrow: Bool {
        storage.capacity < maximumCapacity && (bytesForOneMore == 0 || pool.availableBytes >= bytesForOneMore)
    }

    /// Doubles the capacity, or takes what the pool has left up to that; false if it cannot grow.
    @inlinable mutating func grow() -> Bool {
        guard mayGrow else { return false }
        let current = storage.capacity
        var target = min(maximumCapacity, 2 * current)
        var delta = Self.bytes(capacity: target) - storage.accountedBytes
        if !pool.reserve(delta) {
            // A table held at its pool's limit comes here on every insert: if not one entry
            // more fits, there is nothing to search for.
            let within = storage.accountedBytes + pool.availableBytes
            guard Self.bytes(capacity: current + 1) <= within else {
                bytesForOneMore = Self.bytes(capacity: current + 1) - storage.accountedBytes
                return false
            }
            target = min(target, Self.capacity(fittingIn: within))
            guard target > current else { return false }
            delta = Self.bytes(capacity: target) - storage.accountedBytes
            guard pool.reserve(delta) else { return false }
        }
        let accounted = storage.accountedBytes + delta
        let bigger = storage.grownInPlace(toCapacity: target, accountedBytes: accounted)
            ?? storage.moved(toCapacity: target, accountedBytes: accounted)
        _ = storage.handOverAccountedBytes()
        storage = bigger
        bytesForOneMore = 0
        return true
    }

    /// Moves a found entry to the young end, touched at `nowNanos`.
    @inlinable mutating func refresh(_ found: Found, nowNanos: UInt64, evicted: (Record, UInt64) -> Void) {
        var found = found
        let key = storage.records[found.slot].key
        let before = storage.clock.baseNanos
        let stamp = stamp(for: nowNanos, mark: storage.records[found.slot].stamp.mark, evicted: evicted)
        if storage.clock.baseNanos != before {
            // The clock moved (rarely), evicting what it could not hold: this entry may be gone.
            guard let again = storage.find(key) else { return }
            found = again
        }
        guard !storage.isNewest(found.slot) else {
            storage.records[found.slot].stamp = stamp
            return
        }
        if storage.ringIsFull {
            storage.compact()
            found.slot = storage.index.slot(inBucket: found.bucket)
        }
        storage.moveToYoungEnd(found, stamp: stamp)
    }

    @inline(__always)
    @inlinable mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// Where a present key is: its index bucket and its ring slot.
    @usableFromInline package struct Found {
        @usableFromInline package var bucket: Int
        @usableFromInline package var slot: Int

        @inlinable package init(bucket: Int, slot: Int) { (self.bucket, self.slot) = (bucket, slot) }
    }
}
