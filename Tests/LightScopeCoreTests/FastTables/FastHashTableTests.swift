@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// A key whose hash the test chooses, to force collisions and wrap-around clusters.
private struct ChosenHashKey: FastHashKey, Hashable {
    var id: Int
    var bucketHash: UInt64

    func hash(seed: FastHashSeed) -> UInt64 { bucketHash }
}

final class FastHashTableTests: XCTestCase {
    func testInsertLookupReplaceAndRemove() {
        var table = FastHashTable<IPAddress, Int>(maximumCount: 100)
        let a = IPAddress("192.0.2.1")!, b = IPAddress("2001:db8::1")!
        XCTAssertNil(table[a])
        table.updateValue(1, forKey: a)
        table.updateValue(2, forKey: b)
        XCTAssertEqual(table[a], 1)
        XCTAssertEqual(table[b], 2)
        table.updateValue(3, forKey: a)
        XCTAssertEqual(table[a], 3)
        XCTAssertEqual(table.count, 2)
        XCTAssertEqual(table.removeValue(forKey: a), 3)
        XCTAssertNil(table.removeValue(forKey: a))
        XCTAssertNil(table[a])
        XCTAssertEqual(table[b], 2)
        XCTAssertEqual(table.count, 1)
    }

    func testCollidingKeysAllFoundAndDeletionKeepsTheClusterReachable() {
        var table = FastHashTable<ChosenHashKey, Int>(maximumCount: 12)
        // Twelve keys in 16 buckets: a cluster of five on bucket 14 wraps around to bucket 2,
        // and keys homed at 0 and 1 sit inside it.
        var keys = (0..<5).map { ChosenHashKey(id: $0, bucketHash: 14) }
        keys += [ChosenHashKey(id: 5, bucketHash: 0), ChosenHashKey(id: 6, bucketHash: 1)]
        keys += (7..<12).map { ChosenHashKey(id: $0, bucketHash: UInt64($0 - 3)) }
        for key in keys { table.updateValue(key.id, forKey: key) }
        XCTAssertEqual(table.bucketCount, 16)
        for key in keys { XCTAssertEqual(table[key], key.id) }
        // Remove from the middle of the wrapped cluster, then its head: every other key stays reachable.
        for removed in [keys[2], keys[0], keys[5]] {
            XCTAssertEqual(table.removeValue(forKey: removed), removed.id)
            keys.removeAll { $0 == removed }
            for key in keys { XCTAssertEqual(table[key], key.id, "after removing \(removed.id)") }
            XCTAssertNil(table[removed])
        }
        XCTAssertEqual(table.count, keys.count)
    }

    func testGrowsByDoublingUpToItsMaximumAtThreeQuartersLoad() {
        let maximum = 10_000
        var table = FastHashTable<IPAddress, Int>(maximumCount: maximum)
        XCTAssertEqual(table.bucketCount, 1024)
        for index in 0..<maximum { table.updateValue(index, forKey: IPAddress(ipv4: UInt32(index))) }
        XCTAssertEqual(table.count, maximum)
        XCTAssertEqual(table.bucketCount, 16384, "the smallest power of two holding 10,000 at load 3/4")
        XCTAssertEqual(FastHashTable<IPAddress, Int>.buckets(forMaximumCount: maximum), 16384)
        XCTAssertEqual(FastHashTable<IPAddress, Int>.buckets(forMaximumCount: 12_288), 16384)
        XCTAssertEqual(FastHashTable<IPAddress, Int>.buckets(forMaximumCount: 12_289), 32768)
        for index in 0..<maximum { XCTAssertEqual(table[IPAddress(ipv4: UInt32(index))], index) }
        table.removeAll()
        XCTAssertEqual(table.count, 0)
        XCTAssertNil(table[IPAddress(ipv4: 1)])
    }

    func testEachTableHasItsOwnRandomSeed() {
        let key = ProbeKey(remote: IPAddress("198.51.100.7")!, remotePort: 40000, local: IPAddress("192.0.2.1")!, localPort: 23)
        let hashes = Set((0..<8).map { _ in key.hash(seed: .random()) })
        XCTAssertEqual(hashes.count, 8, "a fixed hash would let an attacker aim at one bucket")
        let seed = FastHashSeed.random()
        XCTAssertEqual(key.hash(seed: seed), key.hash(seed: seed))
        var moved = key
        moved.localPort = 24
        XCTAssertNotEqual(moved.hash(seed: seed), key.hash(seed: seed))
    }

    func testRandomOperationsAgreeWithADictionary() {
        var generator = SplitMix64(seed: 7)
        // A small key space so that inserts, replacements and removals all hit often.
        func randomKey() -> ProbeKey {
            let value = generator.next()
            return ProbeKey(remote: IPAddress(ipv4: UInt32(value % 300)), remotePort: UInt16(value >> 20 & 3),
                            local: IPAddress(ipv4: 0xC000_0201), localPort: UInt16(value >> 30 & 1))
        }
        var table = FastHashTable<ProbeKey, UInt64>(maximumCount: 3000)
        var model: [ProbeKey: UInt64] = [:]
        for step in 0..<200_000 {
            let key = randomKey()
            switch generator.next() % 10 {
            case 0..<3:
                let value = generator.next()
                table.updateValue(value, forKey: key)
                model[key] = value
            case 3..<5:
                // In place if present, else inserted (and then changed).
                let initial = generator.next() % 1000
                table.update(key, inserting: initial) { $0 &+= 3 }
                model[key] = (model[key] ?? initial) &+ 3
            case 5..<8:
                XCTAssertEqual(table.removeValue(forKey: key), model.removeValue(forKey: key), "step \(step)")
            default:
                XCTAssertEqual(table[key], model[key], "step \(step)")
            }
            XCTAssertEqual(table.count, model.count)
        }
        var seen: [ProbeKey: UInt64] = [:]
        table.forEach { seen[$0] = $1 }
        XCTAssertEqual(seen, model)
    }
}

final class ExpiringTableTests: XCTestCase {
    func testExpiresOldestFirstByTouchedTime() {
        var table = ExpiringTable<IPAddress, Int>(capacity: 10)
        for index in 0..<5 { table.upsert(IPAddress(ipv4: UInt32(index)), index, nowNanos: UInt64(index) * 10) }
        // Refreshing 0 makes it the youngest.
        XCTAssertTrue(table.modify(IPAddress(ipv4: 0), nowNanos: 100, refresh: true) { $0 += 100 })
        XCTAssertFalse(table.modify(IPAddress(ipv4: 99), nowNanos: 100, refresh: true) { _ in })
        var expired: [Int] = []
        table.expire(touchedAtOrBefore: 30) { _, value in expired.append(value) }
        XCTAssertEqual(expired, [1, 2, 3])
        XCTAssertEqual(table.count, 2)
        table.drain { _, value in expired.append(value) }
        XCTAssertEqual(expired, [1, 2, 3, 4, 100])
        XCTAssertTrue(table.isEmpty)
    }

    func testAFullTableEvictsTheOldestAndCountsIt() {
        var table = ExpiringTable<IPAddress, Int>(capacity: 3)
        var evicted: [Int] = []
        for index in 0..<3 { table.upsert(IPAddress(ipv4: UInt32(index)), index, nowNanos: UInt64(index)) }
        table.modify(IPAddress(ipv4: 0), nowNanos: 5, refresh: true) { _ in }
        table.upsert(IPAddress(ipv4: 7), 7, nowNanos: 6) { _, value in evicted.append(value) }
        XCTAssertEqual(evicted, [1])
        // Replacing a present key never evicts.
        table.upsert(IPAddress(ipv4: 7), 8, nowNanos: 7) { _, value in evicted.append(value) }
        XCTAssertEqual(evicted, [1])
        XCTAssertEqual(table.evictions, 1)
        XCTAssertEqual(table.count, 3)
        XCTAssertEqual(table[IPAddress(ipv4: 7)], 8)
        XCTAssertNil(table[IPAddress(ipv4: 1)])
    }

    func testManyRefreshesCompactTheRingWithoutLosingOrder() {
        var table = ExpiringTable<IPAddress, Int>(capacity: 4)
        for index in 0..<4 { table.upsert(IPAddress(ipv4: UInt32(index)), index, nowNanos: UInt64(index)) }
        // Far more refreshes than the ring (2 x capacity) holds.
        for time in UInt64(10)..<1000 {
            table.modify(IPAddress(ipv4: UInt32(time % 2)), nowNanos: time, refresh: true) { _ in }
        }
        var expired: [Int] = []
        table.expire(touchedAtOrBefore: 998) { _, value in expired.append(value) }
        XCTAssertEqual(expired, [2, 3, 0], "key 0 last touched at 998, key 1 at 999")
        XCTAssertEqual(table[IPAddress(ipv4: 1)], 1)
        XCTAssertEqual(table.count, 1)
    }

    /// Random operations against a plain model (an array in touch order): the same values,
    /// the same expiry and eviction order, through many ring compactions.
    func testRandomOperationsMatchASimpleModel() {
        struct Model {
            var entries: [(key: UInt32, value: Int, touched: UInt64)] = [] // oldest first
            func position(_ key: UInt32) -> Int? { entries.firstIndex { $0.key == key } }
        }
        for seed in UInt64(1)...20 {
            var random = SplitMix64(seed: seed)
            let capacity = Int.random(in: 1...24, using: &random)
            var table = ExpiringTable<IPAddress, Int>(capacity: capacity)
            var model = Model()
            var now: UInt64 = 0
            for step in 0..<3000 {
                now += UInt64.random(in: 0...3, using: &random)
                let key = UInt32.random(in: 0..<40, using: &random)
                let address = IPAddress(ipv4: key)
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<40:
                    var evicted: [Int] = []
                    table.upsert(address, step, nowNanos: now) { _, value in evicted.append(value) }
                    var expectedEvicted: [Int] = []
                    if let position = model.position(key) {
                        model.entries.remove(at: position)
                    } else if model.entries.count >= capacity {
                        expectedEvicted.append(model.entries.removeFirst().value)
                    }
                    model.entries.append((key, step, now))
                    XCTAssertEqual(evicted, expectedEvicted, "seed \(seed) step \(step)")
                case 40..<48:
                    // Present: changed in place, keeping its age; absent: made, changed, appended
                    // (the oldest evicted first when full).
                    let evictionsBefore = table.evictions
                    let inserted = table.insertOrModify(address, nowNanos: now, makeValue: { step }) { $0 += 1_000_000 }
                    var expectedEvictions: UInt64 = 0
                    if let position = model.position(key) {
                        model.entries[position].value += 1_000_000
                        XCTAssertFalse(inserted, "seed \(seed) step \(step)")
                    } else {
                        if model.entries.count >= capacity {
                            model.entries.removeFirst()
                            expectedEvictions = 1
                        }
                        model.entries.append((key, step + 1_000_000, now))
                        XCTAssertTrue(inserted, "seed \(seed) step \(step)")
                    }
                    XCTAssertEqual(table.evictions - evictionsBefore, expectedEvictions, "seed \(seed) step \(step)")
                    XCTAssertEqual(table[address], model.position(key).map { model.entries[$0].value }, "seed \(seed) step \(step)")
                case 48..<60:
                    let refresh = Bool.random(using: &random)
                    let changed = table.modify(address, nowNanos: now, refresh: refresh) { $0 += 1_000_000 }
                    if let position = model.position(key) {
                        var entry = model.entries[position]
                        entry.value += 1_000_000
                        if refresh {
                            entry.touched = now
                            model.entries.remove(at: position)
                            model.entries.append(entry)
                        } else {
                            model.entries[position] = entry
                        }
                        XCTAssertTrue(changed)
                    } else {
                        XCTAssertFalse(changed)
                    }
                case 60..<80:
                    let removed = table.removeValue(forKey: address)
                    let expected = model.position(key).map { model.entries.remove(at: $0).value }
                    XCTAssertEqual(removed, expected, "seed \(seed) step \(step)")
                case 80..<95:
                    XCTAssertEqual(table[address], model.position(key).map { model.entries[$0].value })
                default:
                    let cutoff = now &- UInt64.random(in: 0...20, using: &random)
                    var expired: [Int] = []
                    table.expire(touchedAtOrBefore: cutoff) { _, value in expired.append(value) }
                    // Expiry stops at the first entry touched after the cutoff.
                    let stop = model.entries.firstIndex { $0.touched > cutoff } ?? model.entries.count
                    XCTAssertEqual(expired, model.entries[..<stop].map(\.value), "seed \(seed) step \(step)")
                    model.entries.removeFirst(stop)
                }
                XCTAssertEqual(table.count, model.entries.count)
                if step % 701 == 700 {
                    // Drained mid-run: everything in touch order, and the table works on.
                    var drained: [Int] = []
                    table.drain { _, value in drained.append(value) }
                    XCTAssertEqual(drained, model.entries.map(\.value), "seed \(seed) step \(step)")
                    XCTAssertTrue(table.isEmpty)
                    XCTAssertNil(table[address])
                    model.entries.removeAll()
                }
            }
            var drained: [Int] = []
            table.drain { _, value in drained.append(value) }
            XCTAssertEqual(drained, model.entries.map(\.value))
            XCTAssertTrue(table.isEmpty)
        }
    }

    /// A copy is a separate table: changing one leaves the other as it was.
    func testACopyIsIndependent() {
        var original = ExpiringTable<IPAddress, Int>(capacity: 8)
        for index in 0..<6 { original.upsert(IPAddress(ipv4: UInt32(index)), index, nowNanos: UInt64(index)) }
        original.removeValue(forKey: IPAddress(ipv4: 2))
        var copy = original
        copy.upsert(IPAddress(ipv4: 9), 9, nowNanos: 10)
        copy.modify(IPAddress(ipv4: 0), nowNanos: 11, refresh: true) { $0 = 100 }
        XCTAssertEqual(original[IPAddress(ipv4: 0)], 0)
        XCTAssertNil(original[IPAddress(ipv4: 9)])
        var fromOriginal: [Int] = []
        original.drain { _, value in fromOriginal.append(value) }
        var fromCopy: [Int] = []
        copy.drain { _, value in fromCopy.append(value) }
        XCTAssertEqual(fromOriginal, [0, 1, 3, 4, 5])
        XCTAssertEqual(fromCopy, [1, 3, 4, 5, 9, 100])
    }

    func testCapacityFromABudgetCountsTheWorstCase() {
        typealias Table = ExpiringTable<ProbeKey, PendingProbe>
        for budget in [100_000, 1_000_000, 10_000_000, 26_843_545] {
            let capacity = Table.capacity(fittingIn: budget)
            XCTAssertLessThanOrEqual(Table.bytes(capacity: capacity), budget)
            XCTAssertGreaterThan(Table.bytes(capacity: capacity + capacity / 3), budget, "most of the budget is used")
        }
    }
}
