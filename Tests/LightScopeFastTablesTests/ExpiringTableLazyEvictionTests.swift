@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// A table that leaves its evictions' index entries to a sweep (`unindexesEvictionsLazily`)
/// does what one that unindexes each at once does: same lookups, evictions, expiry, order.
final class ExpiringTableLazyEvictionTests: XCTestCase {
    /// The same random operations on a lazy and an eager table, every answer compared; keys
    /// come back after their eviction (their entries may still be in the index then).
    func testALazyTableAnswersAsAnEagerOne() {
        for seed in UInt64(1)...30 {
            var random = SplitMix64(seed: seed)
            let capacity = Int.random(in: 1...40, using: &random)
            let keys = UInt32(capacity * Int.random(in: 2...6, using: &random))
            var eager = ExpiringTable<KeyValueRecord>(capacity: capacity)
            var lazy = ExpiringTable<KeyValueRecord>(capacity: capacity)
            lazy.unindexesEvictionsLazily = true
            var now: UInt64 = 0
            for step in 0..<4000 {
                now += UInt64.random(in: 0...3, using: &random)
                let address = IPAddress(ipv4: UInt32.random(in: 0..<keys, using: &random))
                let context = "seed \(seed) step \(step)"
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<45:
                    var evicted: ([Int], [Int]) = ([], [])
                    eager.upsert(address, step, nowNanos: now) { _, value in evicted.0.append(value) }
                    lazy.upsert(address, step, nowNanos: now) { _, value in evicted.1.append(value) }
                    XCTAssertEqual(evicted.0, evicted.1, context)
                case 45..<65:
                    XCTAssertEqual(eager.insertOrModify(address, nowNanos: now, makeValue: { step }) { $0 += 7 },
                                   lazy.insertOrModify(address, nowNanos: now, makeValue: { step }) { $0 += 7 }, context)
                case 65..<72:
                    let refresh = Bool.random(using: &random)
                    XCTAssertEqual(eager.modify(address, nowNanos: now, refresh: refresh) { $0 += 1 },
                                   lazy.modify(address, nowNanos: now, refresh: refresh) { $0 += 1 }, context)
                case 72..<80:
                    XCTAssertEqual(eager.removeValue(forKey: address), lazy.removeValue(forKey: address), context)
                case 80..<97:
                    XCTAssertEqual(eager.value(address), lazy.value(address), context)
                    XCTAssertEqual(eager.touchedNanos(of: address), lazy.touchedNanos(of: address), context)
                default:
                    let cutoff = now &- UInt64.random(in: 0...40, using: &random)
                    var expired: ([Int], [Int]) = ([], [])
                    eager.expire(touchedAtOrBefore: cutoff) { _, value in expired.0.append(value) }
                    lazy.expire(touchedAtOrBefore: cutoff) { _, value in expired.1.append(value) }
                    XCTAssertEqual(expired.0, expired.1, context)
                }
                XCTAssertEqual(eager.count, lazy.count, context)
                XCTAssertEqual(eager.evictions, lazy.evictions, context)
            }
            for key in 0..<keys {
                XCTAssertEqual(eager.value(IPAddress(ipv4: key)), lazy.value(IPAddress(ipv4: key)), "seed \(seed) key \(key)")
            }
            var drained: ([Int], [Int]) = ([], [])
            eager.drain { _, value in drained.0.append(value) }
            lazy.drain { _, value in drained.1.append(value) }
            XCTAssertEqual(drained.0, drained.1, "seed \(seed)")
        }
    }

    /// An evicted key is absent though its entry is still indexed, and comes back as new.
    func testAnEvictedKeyIsAbsentUntilInsertedAgain() {
        var table = ExpiringTable<KeyValueRecord>(capacity: 8)
        table.unindexesEvictionsLazily = true
        for key in UInt32(0)..<9 { table.upsert(IPAddress(ipv4: key), Int(key), nowNanos: UInt64(key)) }
        XCTAssertEqual(table.evictions, 1)
        XCTAssertNil(table.value(IPAddress(ipv4: 0)))
        XCTAssertFalse(table.modify(IPAddress(ipv4: 0), nowNanos: 10, refresh: true) { $0 += 1 })
        XCTAssertTrue(table.insertOrModify(IPAddress(ipv4: 0), nowNanos: 11, makeValue: { 100 }) { $0 += 1 })
        XCTAssertEqual(table.value(IPAddress(ipv4: 0)), 101)
        XCTAssertEqual(table.evictions, 2)
    }

    /// A flood of new keys through a full table: every eviction left to the sweep, and the
    /// index never fills (an insert would then walk for ever).
    func testAFloodOfNewKeysKeepsTheNewestAndTheIndexOpen() {
        var table = ExpiringTable<KeyValueRecord>(capacity: 1000)
        table.unindexesEvictionsLazily = true
        for key in UInt32(0)..<100_000 { table.upsert(IPAddress(ipv4: key), Int(key), nowNanos: UInt64(key)) }
        XCTAssertEqual(table.count, 1000)
        XCTAssertEqual(table.evictions, 99_000)
        XCTAssertNil(table.value(IPAddress(ipv4: 98_999)))
        XCTAssertEqual(table.value(IPAddress(ipv4: 99_000)), 99_000)
        let index = table.storage.index
        let used = (0..<index.bucketCount).filter { index.buckets[$0] != 0 }.count
        XCTAssertLessThanOrEqual(used, ExpiringTable<KeyValueRecord>.ringCapacity(forCapacity: 1000))
    }
}
