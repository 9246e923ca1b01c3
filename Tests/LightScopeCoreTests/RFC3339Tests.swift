import LightScopeCore
import XCTest

final class RFC3339Tests: XCTestCase {
    func testFormatsUTCWithMicroseconds() {
        XCTAssertEqual(RFC3339.format(timeNanos: 0), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(RFC3339.format(timeNanos: 1_795_989_366_123_456_000), "2026-11-29T21:56:06.123456Z")
        XCTAssertEqual(RFC3339.format(timeNanos: 1_709_251_199_999_999_000), "2024-02-29T23:59:59.999999Z")
        XCTAssertEqual(RFC3339.format(timeNanos: 951_868_800_000_000_000), "2000-03-01T00:00:00.000000Z")
    }

    func testTruncatesBelowAMicrosecond() {
        XCTAssertEqual(RFC3339.format(timeNanos: 1_795_989_366_123_456_789), "2026-11-29T21:56:06.123456Z")
    }

    func testParseInvertsFormatAcrossFourCenturies() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<5000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let nanos = (state >> 1) % 13_000_000_000_000_000_000 / 1000 * 1000
            XCTAssertEqual(RFC3339.parse(RFC3339.format(timeNanos: nanos)), nanos, "\(nanos)")
        }
    }

    func testParseAcceptsOffsetsAndShortFractions() {
        XCTAssertEqual(RFC3339.parse("2026-11-29T23:56:06.5+02:00"), 1_795_989_366_500_000_000)
        XCTAssertEqual(RFC3339.parse("2026-11-29T21:56:06Z"), 1_795_989_366_000_000_000)
        XCTAssertEqual(RFC3339.parse("2026-11-29t21:56:06z"), 1_795_989_366_000_000_000)
    }

    func testParseRejectsWhatIsNotRFC3339() {
        for bad in ["2026-02-30T00:00:00Z", "2026-11-29T21:56:06", "2026-11-29 21:56:06Z", "2026-11-29T24:00:00Z",
                    "2026-11-29T21:56:06.Z", "1969-12-31T23:59:59Z", "2026-11-29T21:56:06Zjunk", ""] {
            XCTAssertNil(RFC3339.parse(bad), bad)
        }
    }
}
