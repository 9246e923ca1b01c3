@testable import LightScopeReplay
import LightScopeTestSupport
import XCTest

/// The replay summary's top sources and ports are kept as the counts grow, not computed
/// at the end: after every step they must be what sorting every count would give.
final class ReplayTopTests: XCTestCase {
    func testTheTopKeptAsCountsGrowIsTheTopOfAllCounts() {
        var generator = SplitMix64(seed: 7)
        var counts = [Int: UInt64]()
        var top = ReplaySummary.Top<Int>(limit: 5)
        for step in 0..<20_000 {
            // A skewed draw over 40 keys: some climb fast, many tie, the order keeps changing.
            let value = generator.next()
            let key = value % 3 == 0 ? Int(value >> 8 % 40) : Int(value >> 8 % 8)
            counts[key, default: 0] += 1
            top.raise(key, to: counts[key]!)
            let sorted = counts.sorted { ReplaySummary.Top<Int>.ranksBefore(($0.key, $0.value), ($1.key, $1.value)) }.prefix(5)
            guard top.entries.map(\.0) == sorted.map(\.key), top.entries.map(\.1) == sorted.map(\.value) else {
                return XCTFail("after step \(step): kept \(top.entries), all counts sorted \(Array(sorted))")
            }
        }
        XCTAssertEqual(top.entries.count, 5)
    }

    func testFewerKeysThanTheLimitAreAllKept() {
        var top = ReplaySummary.Top<Int>(limit: 10)
        top.raise(3, to: 1)
        top.raise(1, to: 1)
        top.raise(3, to: 2)
        XCTAssertEqual(top.entries.map(\.0), [3, 1])
        XCTAssertEqual(top.entries.map(\.1), [2, 1])
    }
}
