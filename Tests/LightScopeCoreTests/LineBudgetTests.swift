import LightScopeCore
import XCTest

final class LineBudgetTests: XCTestCase {
    func testBurstThenRateAndSuppressedCount() {
        var budget = LineBudget(ratePerSecond: 10, burst: 40)
        let second: UInt64 = 1_000_000_000
        var allowed = 0
        for _ in 0..<1000 where budget.take(atNanos: 5 * second) { allowed += 1 }
        XCTAssertEqual(allowed, 40, "the burst")
        XCTAssertEqual(budget.suppressed, 960)
        allowed = 0
        for index in 0..<1000 where budget.take(atNanos: 5 * second + UInt64(index) * second / 100) { allowed += 1 }
        XCTAssertEqual(allowed, 99, "10 a second over the 9.99 s that follow")
        XCTAssertEqual(budget.takeSuppressed(), 960 + 901)
        XCTAssertEqual(budget.suppressed, 0)
    }

    /// A flood block's lines in one step: what as many single takes at the same times admit.
    func testTakingUpToACountIsThatManySingleTakes() {
        var one = LineBudget(ratePerSecond: 50, burst: 200), many = one
        let second: UInt64 = 1_000_000_000
        for (step, count) in [(0, 150), (0, 1024), (1, 30), (1, 100), (5, 1024), (5, 0), (6, 7)] {
            let now = 9 * second + UInt64(step) * second / 3
            var singles = 0
            for _ in 0..<count where one.take(atNanos: now) { singles += 1 }
            XCTAssertEqual(many.take(upTo: count, atNanos: now), singles, "step \(step), \(count) lines")
            XCTAssertEqual(many.suppressed, one.suppressed)
        }
    }
}
