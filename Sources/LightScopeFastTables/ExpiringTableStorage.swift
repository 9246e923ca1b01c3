extension ExpiringTable {
    /// The ring of records and the index over it, in memory from `TableMemory`. Records from
    /// `head` for `used` slots (wrapping) are the table's, live or dead; the rest are
    /// leftovers, overwritten before they are read. Records are plain data: nothing to
    /// initialise or destroy, and zeroed memory is dead records.
    @usableFromInline package final class Storage: @unchecked Sendable {
        @usableFromInline package let capacity: Int
        @usableFromInline package let ringCapacity: Int
        @usableFromInline package let records: UnsafeMutablePointer<Record>
        @usableFromInline package let index: EntryIndex
        @usableFromInline package let seed: FastHashSeed
        // Unchecked: the table is one thread's, and its own accesses are checked statically.
        @usableFromInline @exclusivity(unchecked) package var clock: TableClockBase
        /// What this storage holds of its pool, given back when it goes.
        @usableFromInline @exclusivity(unchecked) package var accountedBytes: Int
        @usableFromInline let pool: TableBytePool
        @usableFromInline @exclusivity(unchecked) var head = 0
        @usableFromInline @exclusivity(unchecked) var used = 0
        @usableFromInline @exclusivity(unchecked) package var liveCount = 0
        /// Whether `records` went to a bigger storage (`grownInPlace`), which frees it.
        @usableFromInline @exclusivity(unchecked) var recordsHandedOver = false
        /// Whether `index`'s buckets went to a bigger storage (`grownInPlace`), which frees them.
        @usableFromInline @exclusivity(unchecked) var indexHandedOver = false
        /// Where the index walks start for the records about to reach the front (ExpiringTableFrontHints.swift).
        @usableFromInline let frontHints: UnsafeMutablePointer<UInt32>

        @inlinable package convenience init(capacity: Int, seed: FastHashSeed, clock: TableClockBase, accountedBytes: Int,
                                            pool: TableBytePool) {
            let ringCapacity = ExpiringTable.ringCapacity(forCapacity: capacity)
            let records = TableMemory.allocate(byteCount: ringCapacity * MemoryLayout<Record>.stride, access: .inOrder)
            self.init(capacity: capacity, records: records.bindMemory(to: Record.self, capacity: ringCapacity), seed: seed,
                      clock: clock, accountedBytes: accountedBytes, pool: pool)
        }

        /// Storage over `records`, a block from `TableMemory` of `ringCapacity(forCapacity:)`
        /// records, which it frees; with `index`, empty, or a new one.
        @inlinable package init(capacity: Int, records: UnsafeMutablePointer<Record>, index: EntryIndex? = nil,
                                seed: FastHashSeed, clock: TableClockBase, accountedBytes: Int, pool: TableBytePool) {
            self.capacity = capacity
            ringCapacity = ExpiringTable.ringCapacity(forCapacity: capacity)
            self.records = records
            self.index = index ?? EntryIndex(maximumCount: capacity, slotCount: ringCapacity)
            self.seed = seed
            self.clock = clock
            self.accountedBytes = accountedBytes
            self.pool = pool
            frontHints = .allocate(capacity: Self.frontHintCount)
            frontHints.initialize(repeating: 0, count: Self.frontHintCount)
        }

        deinit {
            if !recordsHandedOver { TableMemory.free(records, byteCount: ringCapacity * MemoryLayout<Record>.stride, access: .inOrder) }
            if !indexHandedOver { index.deallocate() }
            pool.release(accountedBytes)
            frontHints.deallocate()
        }

        /// Stops accounting for this storage's bytes (a bigger or smaller one took them
        /// over); returns them.
        @inlinable package func handOverAccountedBytes() -> Int {
            defer { accountedBytes = 0 }
            return accountedBytes
        }

        /// A copy with its own memory, counted in the pool whatever its limit (copies are
        /// for tests; the engine never copies a table).
        @inlinable package func copy() -> Storage {
            pool.reserveRegardless(accountedBytes)
            return moved(toCapacity: capacity, accountedBytes: accountedBytes)
        }

        /// New storage of `capacity` with the live records in order (and the same seed and clock).
        @inlinable package func moved(toCapacity capacity: Int, accountedBytes: Int) -> Storage {
            precondition(liveCount <= capacity, "ExpiringTable: \(liveCount) entries do not fit in \(capacity)")
            let moved = Storage(capacity: capacity, seed: seed, clock: clock, accountedBytes: accountedBytes, pool: pool)
            moved.index.populateIfDense(forCount: liveCount)
            // The live records go to the new ring's first slots, in order (it is empty, its
            // head at 0, and they fit: `append`'s work without its checks, once per record).
            var count = 0
            let target = moved.records
            let index = moved.index
            forEachLiveRecordHashed(prefetchingIn: index) { slot, hash in
                target[count] = records[slot]
                index.insert(slot: count, hash: hash)
                count &+= 1
            }
            moved.used = count
            moved.liveCount = count
            return moved
        }

        /// Hands `body` each live record's slot, oldest first, with its key's hash, for an index
        /// being built. Each record indexed rewrites a random bucket of that index (a flood
        /// grows a table while the packets wait): the bucket of the record a few places on is
        /// loaded meanwhile, so that the misses overlap, as `expire` does. Each hash is made
        /// once, for the prefetch, and kept in a small ring until its record's turn `distance`
        /// places later (the first few are made there). Used by `moved` and `indexRing`.
        @inline(__always)
        @inlinable package func forEachLiveRecordHashed(prefetchingIn index: EntryIndex, _ body: (_ slot: Int, _ hash: UInt64) -> Void) {
            let distance = ExpiringTable.expiryPrefetchDistance
            let ringMask = Self.movedHashRing - 1
            precondition(distance < Self.movedHashRing)
            var slot = head
            var ahead = self.slot(behindFront: min(distance, used))
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Self.movedHashRing) { hashes in
                for position in 0..<used {
                    if position &+ distance < used {
                        if records[ahead].stamp.isLive {
                            let aheadHash = hash(records[ahead].key)
                            hashes[(position &+ distance) & ringMask] = aheadHash
                            index.prefetch(hash: aheadHash)
                        }
                        ahead = next(ahead)
                    }
                    if records[slot].stamp.isLive {
                        body(slot, position >= distance ? hashes[position & ringMask] : hash(records[slot].key))
                    }
                    slot = next(slot)
                }
            }
        }

        /// The hashes `moved` keeps between a record's prefetch and its append
        /// (`aheadRingCount`).
        @inlinable package static var movedHashRing: Int { ExpiringTable.aheadRingCount }

        @inline(__always)
        @inlinable package func hash(_ key: Key) -> UInt64 { key.hash(seed: seed) }

        @inlinable package var ringIsFull: Bool { used == ringCapacity }
        /// The oldest record's slot, live or dead.
        @inlinable package var front: Int? { used == 0 ? nil : head }

        @inline(__always)
        @inlinable func next(_ slot: Int) -> Int {
            slot &+ 1 == ringCapacity ? 0 : slot &+ 1
        }

        @inline(__always)
        @inlinable func slot(behindFront distance: Int) -> Int {
            let slot = head &+ distance
            return slot >= ringCapacity ? slot &- ringCapacity : slot
        }

        @inline(__always)
        @inlinable package func isNewest(_ slot: Int) -> Bool { slot == self.slot(behindFront: used &- 1) }

        @inline(__always)
        @inlinable package func find(_ key: Key) -> Found? {
            find(key, hash: hash(key))
        }

        /// `find` with the key's hash already made.
        @inline(__always)
        @inlinable package func find(_ key: Key, hash: UInt64) -> Found? {
            let stop = walk(key, hash: hash)
            return stop.slot >= 0 ? Found(bucket: stop.bucket, slot: stop.slot) : nil
        }

        /// Where a lookup of `key` stops (`EntryIndex.walk`): its bucket and slot, or the first
        /// empty bucket from its home and slot -1, where an insert of it goes.
        @inline(__always)
        @inlinable package func walk(_ key: Key, hash: UInt64) -> (bucket: Int, slot: Int) {
            index.walk(hash: hash) { records[$0].key == key }
        }

        /// Starts loading the index bucket of the record `distance` places from the front,
        /// if there is one and it is live. Changes nothing.
        @inline(__always)
        @inlinable package func prefetchBucket(ofRecordBehindFront distance: Int) {
            prefetchBucket(ofRecordBehindFront: distance, ahead: { _ in })
        }

        /// Appends a live record at the young end and indexes it; the ring must have room
        /// and the key must be absent.
        @inline(__always)
        @inlinable package func append(_ record: Record, hash: UInt64) {
            append(record, hash: hash, inFirstEmpty: index.firstEmpty(hash: hash))
        }

        /// Takes a live entry out: unindexed, its record left dead (or dropped, at either end).
        @inlinable package func remove(_ found: Found) -> Record {
            index.remove(bucket: found.bucket) { hash(records[$0].key) }
            liveCount -= 1
            let record = records[found.slot]
            records[found.slot].stamp.mark = 0
            if isNewest(found.slot) {
                // A probe answered at once, the commonest case, leaves no dead record behind.
                used -= 1
            } else if found.slot == head {
                popDeadFront()
            }
            return record
        }

        /// Takes out the front record, which must be live. Inlined, and `remove`'s work done
        /// here for the front alone: expiry calls it for every verdict, and the call of
        /// `remove` (outlined), its test for the newest record and its dead-front check cost
        /// about 25 instructions a judged probe. The ring ends as `remove` leaves it.
        @inline(__always)
        @inlinable package func removeFront() -> Record {
            let front = head
            index.remove(bucket: bucketOfFront()) { hash(records[$0].key) }
            // Wrapping: the front is live, so neither count is 0 (an overflow check a verdict).
            liveCount &-= 1
            let record = records[front]
            records[front].stamp.mark = 0
            if used == 1 {
                // The front was the newest record too: the ring is empty, its head where it was.
                used = 0
            } else {
                head = next(front)
                used &-= 1
            }
            return record
        }

        /// Moves a live entry's record to the young end with `stamp`; the ring must have room.
        @inlinable package func moveToYoungEnd(_ found: Found, stamp: RecordStamp) {
            precondition(used < ringCapacity, "ExpiringTable: ring full")
            let slot = slot(behindFront: used)
            records[slot] = records[found.slot]
            records[slot].stamp = stamp
            used += 1
            records[found.slot].stamp.mark = 0
            index.setSlot(slot, inBucket: found.bucket)
            if found.slot == head { popDeadFront() }
        }

        /// Hands over every live record, oldest first, and leaves the table empty.
        @inlinable package func drain(_ each: (Record, UInt64) -> Void) {
            index.clear()
            liveCount = 0
            while used > 0 {
                let record = records[head]
                head = next(head)
                used -= 1
                if record.stamp.isLive { each(record, clock.nanos(of: record.stamp)) }
            }
            head = 0
        }

        /// Drops the front record, which must be dead.
        @inlinable package func popDeadFront() {
            precondition(used > 0 && !records[head].stamp.isLive, "ExpiringTable: front record is live")
            head = next(head)
            used -= 1
        }

        /// Drops the dead records at the front, so that `front` is live or nil.
        @inlinable package func dropDeadFront() {
            while used > 0 && !records[head].stamp.isLive { popDeadFront() }
        }

        /// Moves the live records together at the old end, in order, dropping the dead ones.
        @inlinable package func compact() {
            var target = head
            var source = head
            for _ in 0..<used {
                if records[source].stamp.isLive {
                    if source != target {
                        // Targets trail sources, so no live record is overwritten, and no
                        // other bucket points at `target`.
                        let bucket = index.bucket(ofSlot: source, hash: hash(records[source].key))
                        records[target] = records[source]
                        index.setSlot(target, inBucket: bucket)
                    }
                    target = next(target)
                }
                source = next(source)
            }
            used = liveCount
        }

        /// Re-stamps every live record against `newClock`; evicts, through `evicted`, the
        /// ones it cannot hold (more than half its range from its centre). Returns how many.
        @inlinable package func moveClock(to newClock: TableClockBase, evicted: (Record, UInt64) -> Void) -> Int {
            var slot = head
            var dropped = 0
            for _ in 0..<used {
                let stamp = records[slot].stamp
                if stamp.isLive {
                    let nanos = clock.nanos(of: stamp)
                    if let offset = newClock.offset(of: nanos) {
                        records[slot].stamp = RecordStamp(offsetNanos: offset, mark: stamp.mark)
                    } else {
                        let record = records[slot]
                        let bucket = index.bucket(ofSlot: slot, hash: hash(record.key))
                        index.remove(bucket: bucket) { hash(records[$0].key) }
                        liveCount -= 1
                        records[slot].stamp.mark = 0
                        dropped += 1
                        evicted(record, nanos)
                    }
                }
                slot = next(slot)
            }
            clock = newClock
            dropDeadFront()
            return dropped
        }
    }
}
