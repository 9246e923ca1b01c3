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
                guard sameTableState(oneWalk, twoWalks, "seed \(seed) step \(step)") else { return }
            }
            XCTAssertEqual(evicted.0, evicted.1, "seed \(seed)")
            XCTAssertEqual(oneWalk.evictions, twoWalks.evictions, "seed \(seed)")
            XCTAssertGreaterThan(oneWalk.evictions, 0, "seed \(seed)")
        }
    }

    /// An absent key's record is made once the room is made: after `evicted` was told of the
    /// entries its insert pushed out, so that it is built where it goes (ExpiringTable+OneWalk.swift).
    func testAnAbsentKeysRecordIsMadeAfterTheEvictions() {
        var table = ExpiringTable<KeyValueRecord>(maximumCapacity: 4, initialCapacity: 4, pool: .unlimited())
        for number in 1...4 { table.upsert(IPAddress(ipv4: UInt32(number)), number, nowNanos: UInt64(number)) }
        var order: [String] = []
        let key = IPAddress(ipv4: 9)
        let inserted = table.insertOrModify(key, nowNanos: 10, make: {
            order.append("make")
            return KeyValueRecord(address: PackedAddress(key), value: 9)
        }, { _, _ in order.append("change") }, evicted: { record, _ in order.append("evicted \(record.value)") })
        XCTAssertTrue(inserted)
        XCTAssertEqual(order, ["evicted 1", "make", "change"])
        XCTAssertEqual(table.count, 4)
    }
}
