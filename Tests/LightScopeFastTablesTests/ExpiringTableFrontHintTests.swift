@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// Taking out the front record walks the index from a hint kept when the record's bucket was
/// prefetched (ExpiringTableFrontHints.swift). A hint only says where the walk starts: with
/// every hint wrong, stale or garbage, a table must evict, expire and remove exactly what it
/// does with its own hints, and leave the index bucket for bucket the same.
final class ExpiringTableFrontHintTests: XCTestCase {
    /// A ring that keeps what was learnt `expiryPrefetchDistance` places ahead must hold more
    /// entries than that distance, or an entry is overwritten before its record's turn (with
    /// 16 of each and a distance of 16, the first table to grow stopped the daemon).
    func testTheRingsOfWhatWasLearntAheadOutliveThePrefetchDistance() {
        let distance = ExpiringTable<KeyValueRecord>.expiryPrefetchDistance
        for count in [ExpiringTable<KeyValueRecord>.Storage.frontHintCount, ExpiringTable<KeyValueRecord>.Storage.movedHashRing] {
            XCTAssertGreaterThan(count, distance)
            XCTAssertLessThanOrEqual(count, 2 * distance, "no larger than needed")
            XCTAssertEqual(count & (count - 1), 0, "a power of two, indexed by a mask")
        }
    }

    func testWrongHintsChangeNothing() {
        for seed in UInt64(1)...24 {
            var random = SplitMix64(seed: seed)
            let capacity = Int.random(in: 8...96, using: &random)
            let initial = seed % 3 == 0 ? max(1, capacity / 4) : capacity
            var hinted = ExpiringTable<KeyValueRecord>(maximumCapacity: capacity, initialCapacity: initial, pool: .unlimited())
            hinted.upsert(IPAddress(ipv4: 1), 0, nowNanos: 1)
            // A copy: the same seed, so the same buckets.
            var misled = hinted
            misled.makeUnique()
            var now: UInt64 = 1
            var out = ([Int](), [Int]())
            for step in 1..<4000 {
                // Hints that point anywhere: into other clusters, after the entry, past the index.
                for hint in 0..<ExpiringTable<KeyValueRecord>.Storage.frontHintCount {
                    misled.storage.frontHints[hint] = step % 5 == 0 ? UInt32(hint) : UInt32.random(in: 0...UInt32.max, using: &random)
                }
                now += step % 1500 == 0 ? 1 << 47 : UInt64.random(in: 0...3, using: &random)
                let key = IPAddress(ipv4: UInt32.random(in: 0..<UInt32(capacity * 3), using: &random))
                let record = KeyValueRecord(address: PackedAddress(key), value: step)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<10:
                    XCTAssertEqual(hinted.removeValue(forKey: key), misled.removeValue(forKey: key))
                case 10..<14:
                    let cutoff = now - min(now, UInt64.random(in: 0...40, using: &random))
                    hinted.expire(touchedAtOrBefore: cutoff) { record, _ in out.0.append(record.value) }
                    misled.expire(touchedAtOrBefore: cutoff) { record, _ in out.1.append(record.value) }
                case 14..<16:
                    _ = hinted.evictOldest { record, _ in out.0.append(record.value) }
                    _ = misled.evictOldest { record, _ in out.1.append(record.value) }
                case 16..<50:
                    hinted.insertOrModify(key, nowNanos: now, refresh: true, make: { record }, { value, _ in value.value += 1 },
                                          evicted: { record, _ in out.0.append(record.value) })
                    misled.insertOrModify(key, nowNanos: now, refresh: true, make: { record }, { value, _ in value.value += 1 },
                                          evicted: { record, _ in out.1.append(record.value) })
                default:
                    hinted.upsert(record, nowNanos: now) { record, _ in out.0.append(record.value) }
                    misled.upsert(record, nowNanos: now) { record, _ in out.1.append(record.value) }
                }
                guard sameTableState(hinted, misled, "seed \(seed) step \(step)") else { return }
            }
            XCTAssertEqual(out.0, out.1, "seed \(seed)")
            XCTAssertEqual(hinted.evictions, misled.evictions, "seed \(seed)")
            XCTAssertGreaterThan(hinted.evictions, 0, "seed \(seed)")
        }
    }

    /// Under a stream of new keys into a full table, the hints are right: each eviction
    /// starts its walk at the front key's home (what the hint saves is hashing that key).
    func testAFullTablesHintsAreItsFrontsHomes() {
        var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 64, initialCapacity: 64, pool: .unlimited())
        var checked = 0
        for step in 0..<2000 {
            // In a scope of its own: a second reference to the storage held over the insert
            // would make the insert copy it, hints and all.
            do {
                let storage = table.storage
                if storage.liveCount == storage.capacity, storage.records[storage.head].stamp.isLive, step > 200 {
                    let hint = Int(storage.frontHints[storage.head & (ExpiringTable<KeyValueRecord>.Storage.frontHintCount - 1)])
                    if hint == storage.index.home(storage.hash(storage.records[storage.head].key)) { checked += 1 }
                }
            }
            table.upsert(IPAddress(ipv4: UInt32(step) &* 2_654_435_761), step, nowNanos: UInt64(step + 1))
        }
        // Every front since the ring filled, but those a compaction moved.
        XCTAssertGreaterThan(checked, 1500)
    }
}
