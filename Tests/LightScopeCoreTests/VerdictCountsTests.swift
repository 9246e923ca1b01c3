import LightScopeCore
import XCTest

final class VerdictCountsTests: XCTestCase {
    func testCountsAddUpAndReadInEveryForm() {
        var counts = VerdictCounts()
        for verdict in [Verdict.closed, .closed, .portscan, .slowscan] { counts.count(verdict) }
        var more = VerdictCounts()
        more.count(.closed)
        counts.add(more)
        XCTAssertEqual(counts[.closed], 3)
        XCTAssertEqual(counts.total, 5)
        XCTAssertEqual(counts.nonZero, [.closed: 3, .portscan: 1, .slowscan: 1])
        XCTAssertEqual(counts.nonZeroByName, ["closed": 3, "portscan": 1, "slowscan": 1])
        XCTAssertEqual(counts.text, "closed 3, unanswered 0, portscan 1, addrscan 0, unfiltered 0, backscatter 0, slowscan 1")
    }

    func testEveryVerdictHasACountOfItsOwn() {
        for verdict in Verdict.allCases {
            var counts = VerdictCounts()
            counts.count(verdict)
            XCTAssertEqual(counts.nonZero, [verdict: 1])
            XCTAssertEqual(counts, { var same = VerdictCounts(); same.count(verdict); return same }())
            XCTAssertNotEqual(counts, VerdictCounts())
        }
    }
}
