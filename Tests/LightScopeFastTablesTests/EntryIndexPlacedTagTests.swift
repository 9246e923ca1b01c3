@testable import LightScopeFastTables
import XCTest
import LightScopeTestSupport

/// An insert and a lookup take a hash's tag in place in one mask (`EntryIndex.placedTag`),
/// not by two shifts: the buckets must be what `entry(slot:distance:tag:)` makes of the
/// shifted tag, and a lookup must find what it found, at every size of index.
final class EntryIndexPlacedTagTests: XCTestCase {
    func testThePlacedTagIsTheTagShiftedIntoPlace() {
        var random = SplitMix64(seed: 7)
        for maximumCount in [1, 9, 100, 5_000, 1 << 20] {
            let index = EntryIndex(maximumCount: maximumCount, slotCount: maximumCount + maximumCount / 4 + 1)
            defer { index.deallocate() }
            for _ in 0..<1_000 {
                let hash = UInt64.random(in: 0...UInt64.max, using: &random)
                XCTAssertEqual(index.placedTag(hash), index.tag(hash) &<< index.tagShift, "\(maximumCount)")
            }
        }
    }

    func testAnInsertWritesTheEntryBuiltFromItsParts() {
        var random = SplitMix64(seed: 11)
        let index = EntryIndex(maximumCount: 64, slotCount: 80)
        defer { index.deallocate() }
        var hashes: [Int: UInt64] = [:]
        for slot in 0..<64 {
            // On every eighth home: clusters, and distances past 14 too.
            let hash = UInt64.random(in: 0...UInt64.max, using: &random) & ~7
            let bucket = index.firstEmpty(hash: hash)
            index.insert(slot: slot, hash: hash)
            XCTAssertEqual(index.buckets[bucket],
                           index.entry(slot: slot, distance: (bucket &- index.home(hash)) & index.mask, tag: index.tag(hash)))
            hashes[slot] = hash
        }
        for (slot, hash) in hashes {
            XCTAssertEqual(index.find(hash: hash) { $0 == slot }?.slot, slot)
        }
    }
}
