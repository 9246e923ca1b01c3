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
}
