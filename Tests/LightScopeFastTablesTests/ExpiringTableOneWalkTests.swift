@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// `upsert` and `insertOrModify` insert an absent key into the bucket their lookup stopped
/// at (ExpiringTable+OneWalk.swift), also after evictions moved the key's cluster: the index
/// and the ring must come out bucket for bucket and record for record as the insert that
/// walks again (`insert(absent:)`) leaves them.
final class ExpiringTableOneWalkTests: XCTestCase {
    /// Two tables with one seed (a copy), fed the same random stream: one through `upsert`
    /// or `insertOrModify`, the other through a lookup and then `insert(absent:)`.
    func testTheLookupsBucketIsTheOneASecondWalkFinds() {
        for seed in UInt64(1)...24 {
            var random = SplitMix64(seed: seed)
            let capacity = Int.random(in: 8...96, using: &random)
            // Some tables grow first (the insert then walks again), the others are full for good.
            let initial = seed % 3 == 0 ? max(1, capacity / 4) : capacity
            var oneWalk = ExpiringTable<KeyValueRecord>(maximumCapacity: capacity, initialCapacity: initial, pool: .unlimited())
            oneWalk.upsert(IPAddress(ipv4: 1), 0, nowNanos: 1)
            var twoWalks = oneWalk
            var now: UInt64 = 1
            var evicted = ([Int](), [Int]())
            for step in 1..<4000 {
                // Now and then far on: the clock moves and evicts what it cannot hold.
                now += step % 1500 == 0 ? 1 << 47 : UInt64.random(in: 0...3, using: &random)
                let key = IPAddress(ipv4: UInt32.random(in: 0..<UInt32(capacity * 3), using: &random))
                let record = KeyValueRecord(address: PackedAddress(key), value: step)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<10:
                    XCTAssertEqual(oneWalk.removeValue(forKey: key), twoWalks.removeValue(forKey: key))
                case 10..<50:
                    oneWalk.insertOrModify(key, nowNanos: now, make: { record }, { value, _ in value.value += 1 },
                                           evicted: { record, _ in evicted.0.append(record.value) })
                    if twoWalks.contains(key) {
                        twoWalks.modify(key, nowNanos: now, refresh: false) { $0 += 1 }
                    } else {
                        var changed = record
                        changed.value += 1
                        twoWalks.insert(absent: changed, nowNanos: now, evicted: { record, _ in evicted.1.append(record.value) })
                    }
                default:
                    oneWalk.upsert(record, nowNanos: now) { record, _ in evicted.0.append(record.value) }
                    if twoWalks.contains(key) {
                        twoWalks.upsert(record, nowNanos: now) { record, _ in evicted.1.append(record.value) }
                    } else {
                        twoWalks.insert(absent: record, nowNanos: now, evicted: { record, _ in evicted.1.append(record.value) })
                    }
                }
                guard assertSame(oneWalk, twoWalks, "seed \(seed) step \(step)") else { return }
            }
            XCTAssertEqual(evicted.0, evicted.1, "seed \(seed)")
            XCTAssertEqual(oneWalk.evictions, twoWalks.evictions, "seed \(seed)")
            XCTAssertGreaterThan(oneWalk.evictions, 0, "seed \(seed)")
        }
    }

    private func assertSame(_ one: ExpiringTable<KeyValueRecord>, _ other: ExpiringTable<KeyValueRecord>, _ message: String)
        -> Bool {
        let (a, b) = (one.storage, other.storage)
        guard a.index.bucketCount == b.index.bucketCount, a.ringCapacity == b.ringCapacity,
              (a.head, a.used, a.liveCount) == (b.head, b.used, b.liveCount) else {
            XCTFail("\(message): sizes or ring positions differ")
            return false
        }
        for bucket in 0..<a.index.bucketCount where a.index.buckets[bucket] != b.index.buckets[bucket] {
            XCTFail("\(message): bucket \(bucket) differs")
            return false
        }
        for position in 0..<a.used {
            let slot = a.slot(behindFront: position)
            let (x, y) = (a.records[slot], b.records[slot])
            guard x.stamp.isLive == y.stamp.isLive, !x.stamp.isLive
                || (x.key, x.value, x.stamp.offsetNanos) == (y.key, y.value, y.stamp.offsetNanos) else {
                XCTFail("\(message): ring slot \(slot) differs")
                return false
            }
        }
        return true
    }
}
