@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// `insertOrModify` inserts an absent key after one walk of the index and makes its record
/// after the evictions the insert needs (ExpiringTable+OneWalk.swift). Against the two-walk
/// insert of a record made first (`insert(absent:)`), over random streams (tables that grow
/// first or are full for good, refreshes, removals, expiry, clock moves): the same entries
/// evicted in the same order, and the ring and index the same record for record.
final class ExpiringTableInsertOrModifyTests: XCTestCase {
    func testAnInsertMakingItsRecordLastLeavesTheTableAsOneMadeFirst() {
        for seed in UInt64(1)...24 {
            var random = SplitMix64(seed: seed)
            let capacity = Int.random(in: 8...96, using: &random)
            let initial = seed % 3 == 0 ? max(1, capacity / 4) : capacity
            var first = ExpiringTable<KeyValueRecord>(maximumCapacity: capacity, initialCapacity: initial, pool: .unlimited())
            first.upsert(IPAddress(ipv4: 1), 0, nowNanos: 1)
            var last = first
            last.makeUnique()
            var now: UInt64 = 1
            var out = ([Int](), [Int]())
            var made = (0, 0)
            for step in 1..<4000 {
                now += step % 1500 == 0 ? 1 << 47 : UInt64.random(in: 0...3, using: &random)
                let key = IPAddress(ipv4: UInt32.random(in: 0..<UInt32(capacity * 3), using: &random))
                let record = KeyValueRecord(address: PackedAddress(key), value: step)
                let refresh = Bool.random(using: &random)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<10:
                    XCTAssertEqual(first.removeValue(forKey: key), last.removeValue(forKey: key))
                case 10..<14:
                    let cutoff = now - min(now, UInt64.random(in: 0...40, using: &random))
                    first.expire(touchedAtOrBefore: cutoff) { record, _ in out.0.append(record.value) }
                    last.expire(touchedAtOrBefore: cutoff) { record, _ in out.1.append(record.value) }
                default:
                    let one = first.insertOrModify(key, nowNanos: now, refresh: refresh, make: { made.0 += 1; return record },
                                                   { value, _ in value.value += 1 },
                                                   evicted: { record, _ in out.0.append(record.value) })
                    // The reference: a present key through the same path, an absent one made
                    // (and changed) first and inserted after a second walk.
                    let other: Bool
                    if last.contains(key) {
                        other = last.insertOrModify(key, nowNanos: now, refresh: refresh, make: { fatalError("present") },
                                                    { value, _ in value.value += 1 },
                                                    evicted: { record, _ in out.1.append(record.value) })
                    } else {
                        made.1 += 1
                        var changed = record
                        changed.value += 1
                        last.insert(absent: changed, nowNanos: now, evicted: { record, _ in out.1.append(record.value) })
                        other = true
                    }
                    XCTAssertEqual(one, other, "seed \(seed) step \(step)")
                }
                guard sameTableState(first, last, "seed \(seed) step \(step)") else { return }
            }
            XCTAssertEqual(out.0, out.1, "seed \(seed)")
            XCTAssertEqual(made.0, made.1, "seed \(seed)")
            XCTAssertEqual(first.evictions, last.evictions, "seed \(seed)")
            XCTAssertGreaterThan(first.evictions, 0, "seed \(seed)")
        }
    }
}
