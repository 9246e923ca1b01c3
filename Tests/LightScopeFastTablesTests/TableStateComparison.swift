@testable import LightScopeFastTables
@testable import LightScopeCore
import XCTest

/// Whether two tables hold the same state: ring positions, every index bucket, and every
/// ring slot's record (live or dead alike); fails the test, saying where, if not.
func sameTableState(_ one: ExpiringTable<KeyValueRecord>, _ other: ExpiringTable<KeyValueRecord>, _ message: String) -> Bool {
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
