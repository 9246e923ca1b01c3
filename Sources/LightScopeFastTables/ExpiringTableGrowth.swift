import CPrefetch

extension ExpiringTable.Storage {
    /// Bigger storage over this one's ring, resized where it lies (`TableMemory.resize`): the
    /// records keep their pages and, but for a wrapped part, their slots; the index, resized
    /// the same way and emptied, is built anew from the ring. A flood grows a table while
    /// the packets wait, and a copy to a fresh ring and index touched their old size again in
    /// new pages (a page fault and a zeroed page each) and held both at once. Dead records stay where they are, as
    /// in the ring before. Nil if the kernel cannot resize the ring (this storage is then
    /// unchanged: `moved` copies instead). This storage must not be used afterwards.
    @inlinable package func grownInPlace(toCapacity capacity: Int, accountedBytes: Int) -> ExpiringTable.Storage? {
        precondition(capacity >= self.capacity, "ExpiringTable: growing to a smaller capacity")
        let newRingCapacity = ExpiringTable.ringCapacity(forCapacity: capacity)
        let stride = MemoryLayout<Record>.stride
        guard let resized = TableMemory.resize(records, byteCount: ringCapacity * stride, to: newRingCapacity * stride,
                                               access: .inOrder) else { return nil }
        recordsHandedOver = true
        // The index in place too, if it can be: emptied, its old buckets keep their pages.
        let index = self.index.emptiedAndResized(maximumCount: capacity, slotCount: newRingCapacity)
        indexHandedOver = index != nil
        let grown = ExpiringTable.Storage(capacity: capacity, records: resized.bindMemory(to: Record.self, capacity: newRingCapacity),
                                          index: index, seed: seed, clock: clock, accountedBytes: accountedBytes, pool: pool)
        grown.head = unwrapped(grown.records, newRingCapacity: newRingCapacity)
        grown.used = used
        grown.liveCount = liveCount
        grown.indexRing()
        return grown
    }

    /// Makes the records from `head` for `used` slots of this ring one run in `ring`, the same
    /// block resized to `newRingCapacity` slots (the new slots are after the old ones), and
    /// returns where the run starts. A ring that wraps has its part at the start moved on
    /// past the old end, or its part at the end moved to the new end, whichever is shorter
    /// and fits; either way the rest stays put.
    @inlinable func unwrapped(_ ring: UnsafeMutablePointer<Record>, newRingCapacity: Int) -> Int {
        let wrapped = head + used - ringCapacity
        guard wrapped > 0 else { return head }
        let atEnd = ringCapacity - head
        if wrapped <= atEnd && ringCapacity + wrapped <= newRingCapacity {
            (ring + ringCapacity).update(from: ring, count: wrapped)
            return head
        }
        let newHead = newRingCapacity - atEnd
        // The two runs may overlap (a ring that grew by less than its end part): a memmove.
        UnsafeMutableRawPointer(ring + newHead).copyMemory(from: ring + head, byteCount: atEnd * MemoryLayout<Record>.stride)
        return newHead
    }

    /// Indexes every live record of the ring, in the slot where it is (the index empty), in
    /// ring order, as one insert after another would. The records lie in one or two runs
    /// here (`unwrapped`), which are taken a chunk of `reindexChunk` at a time: the live
    /// records of a chunk are hashed and their home buckets loaded, then the chunk before is
    /// indexed, its buckets loaded meanwhile. `forEachLiveRecordHashed`, which tests every
    /// slot for the ring's end and keeps a ring of hashes, spent about 74 instructions a
    /// record here (growth re-indexes a flood's table at every doubling).
    @inlinable func indexRing() {
        let index = self.index
        let chunk = Self.reindexChunk
        withUnsafeTemporaryAllocation(of: (slot: Int, hash: UInt64).self, capacity: 2 * chunk) { waiting in
            let waitingBase = waiting.baseAddress!
            // The chunk hashed last, waiting to be indexed: `readyCount` at `waitingBase + ready`.
            var ready = 0
            var readyCount = 0
            @inline(__always) func indexReady() {
                for entry in UnsafeBufferPointer(start: waitingBase + ready, count: readyCount) {
                    index.insert(slot: entry.slot, hash: entry.hash)
                }
            }
            @inline(__always) func indexRun(from low: Int, to high: Int) {
                var start = low
                while start < high {
                    let stop = min(start &+ chunk, high)
                    let filling = waitingBase + (chunk &- ready)
                    var count = 0
                    for slot in start..<stop where records[slot].stamp.isLive {
                        let hash = hash(records[slot].key)
                        filling[count] = (slot, hash)
                        lightscope_prefetch(index.buckets + index.home(hash))
                        count &+= 1
                    }
                    indexReady()
                    ready = chunk &- ready
                    readyCount = count
                    start = stop
                }
            }
            let end = head + used
            indexRun(from: head, to: min(end, ringCapacity))
            indexRun(from: 0, to: max(0, end - ringCapacity))
            indexReady()
        }
    }

    /// The records `indexRing` hashes before it indexes them: enough buckets loading at once
    /// for the misses to overlap, as `expiryPrefetchDistance` is for expiry.
    @inlinable package static var reindexChunk: Int { ExpiringTable.expiryPrefetchDistance }
}
