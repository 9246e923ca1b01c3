@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// Tables made with one seed hash a key alike, and a lookup given that hash
/// (`insertOrModify(_:hash:...)`, `prefetch(hash:)`) does what the one that hashes does: the
/// scan tables share a seed, and a failed attempt hashes its source once for them all.
final class ExpiringTableSharedSeedTests: XCTestCase {
    func testTablesWithOneSeedHashAKeyAlike() {
        let seed = FastHashSeed.random()
        let small = ExpiringTable<KeyValueRecord>(maximumCapacity: 16, initialCapacity: 16, pool: .unlimited(), seed: seed)
        let large = ExpiringTable<KeyValueRecord>(maximumCapacity: 4096, initialCapacity: 64, pool: .unlimited(), seed: seed)
        let other = ExpiringTable<KeyValueRecord>(maximumCapacity: 16, initialCapacity: 16, pool: .unlimited())
        var differ = 0
        for value in UInt32(0)..<64 {
            let key = IPAddress(ipv4: value &* 0x9E37_79B9)
            XCTAssertEqual(small.hash(of: key), large.hash(of: key))
            XCTAssertEqual(small.hash(of: key), key.hash(seed: seed))
            if other.hash(of: key) != small.hash(of: key) { differ += 1 }
        }
        // A table made without a seed draws its own.
        XCTAssertGreaterThan(differ, 60)
    }

    /// Two tables with one seed (a copy), fed the same random stream: one through
    /// `insertOrModify(_:hash:...)` with the hash its twin made, the other through
    /// `insertOrModify`. Same entries, same evictions, in the same order.
    func testALookupGivenTheHashIsTheLookupThatHashes() {
        for run in UInt64(1)...8 {
            var random = SplitMix64(seed: run)
            let capacity = Int.random(in: 8...64, using: &random)
            let seed = FastHashSeed.random()
            var given = ExpiringTable<KeyValueRecord>(maximumCapacity: capacity, initialCapacity: max(1, capacity / 4),
                                                      pool: .unlimited(), seed: seed)
            var hashing = ExpiringTable<KeyValueRecord>(maximumCapacity: capacity, initialCapacity: max(1, capacity / 4),
                                                        pool: .unlimited(), seed: seed)
            let hasher = ExpiringTable<KeyValueRecord>(maximumCapacity: 16, initialCapacity: 16, pool: .unlimited(), seed: seed)
            var evicted = ([Int](), [Int]())
            var now: UInt64 = 1
            for step in 1..<3000 {
                now += UInt64.random(in: 0...3, using: &random)
                let key = IPAddress(ipv4: UInt32.random(in: 0..<UInt32(capacity * 3), using: &random))
                let record = KeyValueRecord(address: PackedAddress(key), value: step)
                let refresh = Bool.random(using: &random)
                given.prefetch(hash: hasher.hash(of: key))
                let insertedGiven = given.insertOrModify(key, hash: hasher.hash(of: key), nowNanos: now, refresh: refresh,
                                                         make: { record }, { value, _ in value.value += 1 },
                                                         evicted: { record, _ in evicted.0.append(record.value) })
                let insertedHashing = hashing.insertOrModify(key, nowNanos: now, refresh: refresh, make: { record },
                                                             { value, _ in value.value += 1 },
                                                             evicted: { record, _ in evicted.1.append(record.value) })
                XCTAssertEqual(insertedGiven, insertedHashing, "run \(run) step \(step)")
                XCTAssertEqual(given[key]?.value, hashing[key]?.value, "run \(run) step \(step)")
            }
            XCTAssertEqual(evicted.0, evicted.1, "run \(run)")
            XCTAssertGreaterThan(given.evictions, 0, "run \(run)")
            XCTAssertEqual(given.evictions, hashing.evictions, "run \(run)")
            var drained = ([Int](), [Int]())
            given.drain { record, _ in drained.0.append(record.value) }
            hashing.drain { record, _ in drained.1.append(record.value) }
            XCTAssertEqual(drained.0, drained.1, "run \(run)")
        }
    }
}
