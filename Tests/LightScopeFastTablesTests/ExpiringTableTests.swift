@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// A key and a value in a record: the tables of these tests.
struct KeyValueRecord: TableRecord {
    var address: PackedAddress
    var value: Int
    var stamp = RecordStamp()

    var key: IPAddress { address.address }
}

/// The key-and-value calls the tests make, in terms of records.
extension ExpiringTable where Record == KeyValueRecord {
    init(capacity: Int, initialCapacity: Int, pool: TableBytePool) {
        self.init(maximumCapacity: capacity, initialCapacity: initialCapacity, pool: pool)
    }

    func value(_ key: IPAddress) -> Int? { self[key]?.value }

    mutating func upsert(_ key: IPAddress, _ value: Int, nowNanos: UInt64, evicted: (IPAddress, Int) -> Void = { _, _ in }) {
        upsert(KeyValueRecord(address: PackedAddress(key), value: value), nowNanos: nowNanos) { record, _ in evicted(record.key, record.value) }
    }

    @discardableResult
    mutating func insertOrModify(_ key: IPAddress, nowNanos: UInt64, makeValue: () -> Int, _ change: (inout Int) -> Void) -> Bool {
        insertOrModify(key, nowNanos: nowNanos, make: { KeyValueRecord(address: PackedAddress(key), value: makeValue()) },
                       { record, _ in change(&record.value) }, evicted: { _, _ in })
    }

    @discardableResult
    mutating func modify(_ key: IPAddress, nowNanos: UInt64, refresh: Bool, _ change: (inout Int) -> Void) -> Bool {
        modify(key, nowNanos: nowNanos, refresh: refresh) { record, _ in change(&record.value) }
    }

    @discardableResult
    mutating func removeValue(forKey key: IPAddress) -> Int? { remove(key)?.record.value }

    mutating func expire(touchedAtOrBefore cutoffNanos: UInt64, _ expired: (IPAddress, Int) -> Void) {
        expire(touchedAtOrBefore: cutoffNanos) { record, _ in expired(record.key, record.value) }
    }

    mutating func drain(_ each: (IPAddress, Int) -> Void) {
        drain { record, _ in each(record.key, record.value) }
    }
}

final class ExpiringTableTests: XCTestCase {
    func testExpiresOldestFirstByTouchedTime() {
        var table = ExpiringTable<KeyValueRecord>(capacity: 10)
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
        var table = ExpiringTable<KeyValueRecord>(capacity: 3)
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
        XCTAssertEqual(table.value(IPAddress(ipv4: 7)), 8)
        XCTAssertNil(table.value(IPAddress(ipv4: 1)))
    }

    /// `insertOrModify` with `refresh`: one lookup that changes a present entry and moves it
    /// to the young end, as `modify(refresh: true)` does, or inserts an absent one.
    func testInsertOrModifyCanRefresh() {
        var table = ExpiringTable<KeyValueRecord>(capacity: 3)
        for index in 0..<3 { table.upsert(IPAddress(ipv4: UInt32(index)), index, nowNanos: UInt64(index)) }
        let inserted = table.insertOrModify(IPAddress(ipv4: 0), nowNanos: 5, refresh: true,
                                            make: { KeyValueRecord(address: PackedAddress(IPAddress(ipv4: 0)), value: -1) },
                                            { record, _ in record.value += 10 }, evicted: { _, _ in })
        XCTAssertFalse(inserted)
        XCTAssertEqual(table.touchedNanos(of: IPAddress(ipv4: 0)), 5)
        var evicted: [Int] = []
        table.upsert(IPAddress(ipv4: 7), 7, nowNanos: 6) { _, value in evicted.append(value) }
        XCTAssertEqual(evicted, [1], "the refreshed entry is no longer the oldest")
        XCTAssertEqual(table.value(IPAddress(ipv4: 0)), 10)
    }

    func testManyRefreshesCompactTheRingWithoutLosingOrder() {
        var table = ExpiringTable<KeyValueRecord>(capacity: 4)
        for index in 0..<4 { table.upsert(IPAddress(ipv4: UInt32(index)), index, nowNanos: UInt64(index)) }
        // Far more refreshes than the ring (a quarter more than the capacity) holds.
        for time in UInt64(10)..<1000 {
            table.modify(IPAddress(ipv4: UInt32(time % 2)), nowNanos: time, refresh: true) { _ in }
        }
        var expired: [Int] = []
        table.expire(touchedAtOrBefore: 998) { _, value in expired.append(value) }
        XCTAssertEqual(expired, [2, 3, 0], "key 0 last touched at 998, key 1 at 999")
        XCTAssertEqual(table.value(IPAddress(ipv4: 1)), 1)
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
            var table = ExpiringTable<KeyValueRecord>(capacity: capacity)
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
                    XCTAssertEqual(table.value(address), model.position(key).map { model.entries[$0].value }, "seed \(seed) step \(step)")
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
                    XCTAssertEqual(table.value(address), model.position(key).map { model.entries[$0].value })
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
                    XCTAssertNil(table.value(address))
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
        var original = ExpiringTable<KeyValueRecord>(capacity: 8)
        for index in 0..<6 { original.upsert(IPAddress(ipv4: UInt32(index)), index, nowNanos: UInt64(index)) }
        original.removeValue(forKey: IPAddress(ipv4: 2))
        var copy = original
        copy.upsert(IPAddress(ipv4: 9), 9, nowNanos: 10)
        copy.modify(IPAddress(ipv4: 0), nowNanos: 11, refresh: true) { $0 = 100 }
        XCTAssertEqual(original.value(IPAddress(ipv4: 0)), 0)
        XCTAssertNil(original.value(IPAddress(ipv4: 9)))
        var fromOriginal: [Int] = []
        original.drain { _, value in fromOriginal.append(value) }
        var fromCopy: [Int] = []
        copy.drain { _, value in fromCopy.append(value) }
        XCTAssertEqual(fromOriginal, [0, 1, 3, 4, 5])
        XCTAssertEqual(fromCopy, [1, 3, 4, 5, 9, 100])
    }

    func testCapacityFromABudgetCountsTheWorstCase() {
        typealias Table = ExpiringTable<PendingIPv4Probe>
        for budget in [100_000, 1_000_000, 10_000_000, 26_843_545] {
            let capacity = Table.capacity(fittingIn: budget)
            XCTAssertLessThanOrEqual(Table.bytes(capacity: capacity), budget)
            XCTAssertGreaterThan(Table.bytes(capacity: capacity + capacity / 3), budget, "most of the budget is used")
        }
    }
}

/// The table's memory: it starts small, doubles within its pool, evicts when the pool is
/// spent, gives memory back when sparse, and keeps times across a move of its clock.
final class ExpiringTableMemoryTests: XCTestCase {
    private func address(_ index: Int) -> IPAddress { IPAddress(ipv4: UInt32(index)) }

    func testGrowsByDoublingWithinItsPoolAndThenEvictsTheOldest() {
        typealias Table = ExpiringTable<KeyValueRecord>
        // Room for about 2,000 entries: doublings, then a last step to what fits.
        let pool = TableBytePool(limitBytes: Table.bytes(capacity: 2000))
        var table = Table(capacity: 100_000, initialCapacity: 16, pool: pool)
        XCTAssertEqual(table.capacity, Table.capacity(fittingIn: Table.bytes(capacity: 16)), "as many as its first pages hold")
        XCTAssertEqual(pool.reservedBytes, Table.bytes(capacity: 16))
        var evicted: [Int] = []
        for index in 0..<5000 { table.upsert(address(index), index, nowNanos: UInt64(index)) { evicted.append($1) } }
        XCTAssertEqual(table.capacity, Table.capacity(fittingIn: pool.limitBytes), "the last step takes what the pool has left")
        XCTAssertGreaterThanOrEqual(table.capacity, 2000)
        XCTAssertEqual(table.count, table.capacity)
        XCTAssertEqual(table.reservedBytes, Table.bytes(capacity: table.capacity))
        XCTAssertEqual(pool.reservedBytes, table.reservedBytes, "the pool counts what the table holds")
        XCTAssertLessThanOrEqual(pool.reservedBytes, pool.limitBytes)
        XCTAssertEqual(evicted, Array(0..<(5000 - table.capacity)), "the oldest go first, each counted")
        XCTAssertEqual(table.evictions, UInt64(evicted.count))
        for index in (5000 - table.capacity)..<5000 { XCTAssertEqual(table.value(address(index)), index) }
    }

    func testTwoTablesShareOnePool() {
        typealias Table = ExpiringTable<KeyValueRecord>
        let pool = TableBytePool(limitBytes: Table.bytes(capacity: 256) + Table.bytes(capacity: 16))
        var busy = Table(capacity: 10_000, initialCapacity: 16, pool: pool)
        var quiet = Table(capacity: 10_000, initialCapacity: 16, pool: pool)
        // A first size of 16 takes whole pages, and holds as many entries as they do.
        let firstSize = Table.capacity(fittingIn: Table.bytes(capacity: 16))
        XCTAssertEqual(quiet.capacity, firstSize)
        for index in 0..<1000 { busy.upsert(address(index), index, nowNanos: UInt64(index)) }
        XCTAssertEqual(busy.capacity, Table.capacity(fittingIn: pool.limitBytes - Table.bytes(capacity: 16)),
                       "the busy table took what the quiet one left")
        XCTAssertGreaterThanOrEqual(busy.capacity, 256)
        for index in 0..<200 { quiet.upsert(address(index), index, nowNanos: UInt64(index)) }
        XCTAssertEqual(quiet.capacity, firstSize, "nothing was left to grow into")
        XCTAssertEqual(quiet.evictions, UInt64(200 - firstSize))
        // The flood ends: the busy table shrinks as it empties, and the quiet one can grow.
        busy.expire(touchedAtOrBefore: 997) { (_: IPAddress, _: Int) in }
        for _ in 0..<8 { busy.shrinkIfSparse() }
        XCTAssertEqual(busy.capacity, firstSize)
        XCTAssertEqual(busy.count, 2)
        for index in 998..<1000 { XCTAssertEqual(busy.value(address(index)), index, "kept through the shrinking") }
        for index in 200..<1000 { quiet.upsert(address(index), index, nowNanos: UInt64(index)) }
        XCTAssertEqual(quiet.capacity, Table.capacity(fittingIn: pool.limitBytes - busy.reservedBytes))
        XCTAssertEqual(pool.reservedBytes, busy.reservedBytes + quiet.reservedBytes)
    }

    /// A table made when its pool is spent starts with a few pages, not its first size.
    func testATableMadeWhenThePoolIsSpentStartsSmall() {
        typealias Table = ExpiringTable<KeyValueRecord>
        let pool = TableBytePool(limitBytes: Table.bytes(capacity: 4000))
        let first = Table(capacity: 100_000, initialCapacity: 4000, pool: pool)
        XCTAssertEqual(first.reservedBytes, Table.bytes(capacity: 4000))
        let second = Table(capacity: 100_000, initialCapacity: 4000, pool: pool)
        XCTAssertEqual(second.capacity, Table.capacity(fittingIn: Table.bytes(capacity: Table.leastCapacity)))
        XCTAssertLessThan(second.capacity, 4000)
        XCTAssertEqual(pool.reservedBytes, first.reservedBytes + second.reservedBytes)
    }

    func testTimesFarApartMoveTheClockAndKeepWhatFits() {
        var table = ExpiringTable<KeyValueRecord>(capacity: 8)
        let hour: UInt64 = 3_600_000_000_000
        let start = 1_764_000_000 * 1_000_000_000 as UInt64
        table.upsert(address(1), 1, nowNanos: start)
        table.upsert(address(2), 2, nowNanos: start + 30 * hour)
        // Beyond the 48-bit range of the first base (39 hours either side): the clock moves
        // to centre on the new time. The entry from 30 hours earlier keeps its exact time;
        // the one from 60 hours earlier cannot be held, and is evicted.
        var evicted: [Int] = []
        table.upsert(address(3), 3, nowNanos: start + 60 * hour) { evicted.append($1) }
        XCTAssertEqual(evicted, [1])
        XCTAssertNil(table.touchedNanos(of: address(1)))
        XCTAssertEqual(table.touchedNanos(of: address(2)), start + 30 * hour)
        XCTAssertEqual(table.touchedNanos(of: address(3)), start + 60 * hour)
        // A jump of 200 hours: everything before it goes.
        table.upsert(address(4), 4, nowNanos: start + 260 * hour) { evicted.append($1) }
        XCTAssertEqual(evicted, [1, 2, 3])
        XCTAssertEqual(table.evictions, 3)
        XCTAssertEqual(table.touchedNanos(of: address(4)), start + 260 * hour)
        // And back in time by 30 hours: fits.
        table.upsert(address(5), 5, nowNanos: start + 230 * hour) { evicted.append($1) }
        XCTAssertEqual(table.touchedNanos(of: address(5)), start + 230 * hour)
        var expired: [Int] = []
        table.expire(touchedAtOrBefore: start + 240 * hour) { expired.append($1) }
        XCTAssertEqual(expired, [], "expiry stops at the first entry touched after the cutoff, as ever")
        table.expire(touchedAtOrBefore: start + 260 * hour) { expired.append($1) }
        XCTAssertEqual(expired, [4, 5])
    }
}
