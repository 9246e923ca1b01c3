@testable import LightScopeStore
import XCTest

/// The rate below which every event stays its own row (docs/store.md, "Aggregation"): a token
/// bucket over capture times, tested with explicit times.
final class EventRateBucketTests: XCTestCase {
    static let second: UInt64 = 1_000_000_000
    static let start: UInt64 = 1_700_000_000 * second

    /// How many of `count` events, `spacing` nanoseconds apart from `from`, the bucket admits.
    func admitted(_ bucket: inout EventRateBucket, count: Int, spacing: UInt64, from: UInt64 = start) -> Int {
        (0..<count).filter { bucket.admits(atNanos: from + UInt64($0) * spacing) }.count
    }

    func testTheBurstIsAdmittedAtOnceAndTheRestAtTheRate() {
        var bucket = EventRateBucket()
        let burst = Int(EventRateBucket.burst), rate = Int(EventRateBucket.eventsPerSecond)
        XCTAssertEqual(admitted(&bucket, count: burst + 10, spacing: 0), burst, "all at one instant: the burst")
        XCTAssertFalse(bucket.admits(atNanos: Self.start + Self.second / UInt64(rate) - 1))
        // A second later it has a second's worth again.
        XCTAssertEqual(admitted(&bucket, count: rate + 10, spacing: 0, from: Self.start + Self.second), rate)
    }

    /// A flood of 300,000 events a second for two seconds: single events bounded by the burst
    /// plus the rate times the flood's length.
    func testAFloodAboveTheRateIsBoundedByTheBurstAndTheRate() {
        var bucket = EventRateBucket()
        let kept = admitted(&bucket, count: 600_000, spacing: Self.second / 300_000)
        XCTAssertLessThanOrEqual(kept, Int(EventRateBucket.burst + 2 * EventRateBucket.eventsPerSecond) + 1)
        XCTAssertGreaterThanOrEqual(kept, Int(EventRateBucket.burst + 2 * EventRateBucket.eventsPerSecond) - 1)
    }

    /// Events at the rate, or below it, for a long time: every one admitted.
    func testATrickleAtOrBelowTheRateIsAlwaysAdmitted() {
        var bucket = EventRateBucket()
        let spacing = Self.second / EventRateBucket.eventsPerSecond
        XCTAssertEqual(admitted(&bucket, count: 100_000, spacing: spacing), 100_000)
        var slower = EventRateBucket()
        XCTAssertEqual(admitted(&slower, count: 10_000, spacing: spacing * 3), 10_000)
    }

    /// An nmap scan of a host's 1,000 most common ports, however fast (here in 0.1 s), twice
    /// each (a retry), with its port scan event: all single events.
    func testAnOrdinaryScanOfAThousandPortsStaysSingleEvents() {
        var bucket = EventRateBucket()
        XCTAssertEqual(admitted(&bucket, count: 2_001, spacing: Self.second / 20_000), 2_001)
    }

    /// Events out of order (another loop's, or an unanswered probe's SYN time beside a closed
    /// one's) take from the bucket but never refill it twice for the same time.
    func testOlderEventsDoNotRefill() {
        var bucket = EventRateBucket()
        let burst = Int(EventRateBucket.burst)
        XCTAssertEqual(admitted(&bucket, count: burst, spacing: 0, from: Self.start + 10 * Self.second), burst)
        // Ten seconds older: what they would refill was refilled already.
        XCTAssertEqual(admitted(&bucket, count: 100, spacing: 0, from: Self.start), 0)
    }

    /// The clock stepped back by more than `clockStepBackNanos`: the bucket follows the new time
    /// rather than refusing until the old time comes round again.
    func testAClockSteppedBackFarIsFollowed() {
        var bucket = EventRateBucket()
        let rate = Int(EventRateBucket.eventsPerSecond)
        _ = admitted(&bucket, count: Int(EventRateBucket.burst), spacing: 0)
        let back = Self.start - EventRateBucket.clockStepBackNanos - Self.second
        XCTAssertEqual(admitted(&bucket, count: rate, spacing: 0, from: back), 0, "the bucket was empty")
        XCTAssertEqual(admitted(&bucket, count: rate + 10, spacing: 0, from: back + Self.second), rate, "a second later, a second's worth")
    }
}
