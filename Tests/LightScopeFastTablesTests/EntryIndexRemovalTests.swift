@testable import LightScopeFastTables
import XCTest
import LightScopeTestSupport

/// `EntryIndex.remove` shifts an entry of known distance back by rewriting its distance in
/// place: the buckets must come out as the entry rebuilt from its parts leaves them, also
/// for entries too far from home to keep their distance (found by hashing their key).
final class EntryIndexRemovalTests: XCTestCase {
    func testRemovalLeavesTheBucketsTheRebuiltEntriesLeave() {
        for seed in UInt64(1)...40 {
            var random = SplitMix64(seed: seed)
            let index = EntryIndex(maximumCount: 32, slotCount: 40)
            let reference = EntryIndex(maximumCount: 32, slotCount: 40)
            defer { index.deallocate(); reference.deallocate() }
            // Hashes crowded on a few homes, so that clusters run past 14 buckets.
            let homes = (0..<Int.random(in: 1...4, using: &random)).map { _ in UInt64.random(in: 0..<64, using: &random) }
            var hashes = [UInt64](repeating: 0, count: 40)
            var present: [Int] = []
            for slot in 0..<32 {
                hashes[slot] = UInt64.random(in: 0...UInt64.max, using: &random) & ~63 | homes.randomElement(using: &random)!
                index.insert(slot: slot, hash: hashes[slot])
                reference.insert(slot: slot, hash: hashes[slot])
                present.append(slot)
            }
            XCTAssertTrue((0..<64).contains { index.distance(of: index.buckets[$0]) == EntryIndex.unknownDistance }
                          || homes.count > 2, "seed \(seed): a long cluster")
            while !present.isEmpty {
                let slot = present.remove(at: Int.random(in: 0..<present.count, using: &random))
                let bucket = index.bucket(ofSlot: slot, hash: hashes[slot])
                let hole = index.remove(bucket: bucket) { hashes[$0] }
                XCTAssertEqual(hole, Self.removeRebuilding(reference, bucket: bucket) { hashes[$0] }, "seed \(seed)")
                for each in 0..<64 where index.buckets[each] != reference.buckets[each] {
                    XCTFail("seed \(seed): bucket \(each) differs after removing slot \(slot)")
                    return
                }
                for other in present { XCTAssertEqual(index.find(hash: hashes[other]) { $0 == other }?.slot, other) }
            }
        }
    }

    /// The removal as it was: every moved entry taken apart and made again.
    private static func removeRebuilding(_ index: EntryIndex, bucket: Int, homeOfSlot: (Int) -> UInt64) -> Int {
        let mask = index.mask
        var hole = bucket
        var next = (bucket &+ 1) & mask
        while index.buckets[next] != 0 {
            let moving = index.buckets[next]
            let distance = index.distance(of: moving)
            let wanted = distance == EntryIndex.unknownDistance ? index.home(homeOfSlot(index.slot(of: moving)))
                : (next &- Int(distance)) & mask
            if (next &- wanted) & mask >= (next &- hole) & mask {
                index.buckets[hole] = index.entry(slot: index.slot(of: moving), distance: (hole &- wanted) & mask,
                                                  tag: moving &>> index.tagShift)
                hole = next
            }
            next = (next &+ 1) & mask
        }
        index.buckets[hole] = 0
        return hole
    }
}
