@testable import LightScopeFastTables
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
