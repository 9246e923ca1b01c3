@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest

/// A growth re-indexes the ring a chunk at a time (`ExpiringTable.Storage.indexRing`): the
/// index it builds must be, bucket for bucket, the one that inserting every live record in
/// ring order builds, whatever the dead records between them and however the chunks fall.
final class TableReindexTests: XCTestCase {
    /// The index one insert per live record, oldest first, builds for `storage`'s ring.
    private func referenceBuckets(_ storage: ExpiringTable<KeyValueRecord>.Storage) -> [UInt32] {
        let reference = EntryIndex(maximumCount: storage.capacity, slotCount: storage.ringCapacity)
        defer { reference.deallocate() }
        for position in 0..<storage.used {
            let slot = storage.slot(behindFront: position)
            if storage.records[slot].stamp.isLive { reference.insert(slot: slot, hash: storage.hash(storage.records[slot].key)) }
        }
        return Array(UnsafeBufferPointer(start: reference.buckets, count: reference.bucketCount))
    }

    func testAGrownIndexIsTheOneInsertsInRingOrderBuild() {
        // Dead records every `gap` records (none, runs shorter and longer than a chunk), and
        // live counts that leave a last chunk whole or cut short.
        for gap in [0, 3, 5, 11] {
            for extra in [0, 1, 5] {
                var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 1 << 14, initialCapacity: 1 << 10, pool: .unlimited())
                let first = table.capacity
                var now: UInt64 = 1_000
                var next = 0
                func insert() {
                    table.upsert(IPAddress(ipv4: UInt32(0x0A00_0000 + next)), next, nowNanos: now)
                    next += 1
                    now += 1
                }
                for _ in 0..<(first - extra) { insert() }
                if gap > 0 {
                    for number in stride(from: 1, to: next - 1, by: gap) {
                        XCTAssertNotNil(table.removeValue(forKey: IPAddress(ipv4: UInt32(0x0A00_0000 + number))))
                    }
                }
                while table.capacity == first { insert() }
                let storage = table.storage
                let built = Array(UnsafeBufferPointer(start: storage.index.buckets, count: storage.index.bucketCount))
                let reference = referenceBuckets(storage)
                XCTAssertEqual(built.count, reference.count)
                let differing = built.indices.filter { built[$0] != reference[$0] }
                XCTAssertEqual(differing.count, 0, "gap \(gap), extra \(extra): buckets differ, first \(differing.first ?? -1)")
                XCTAssertEqual(table.count, storage.liveCount)
            }
        }
    }
}
