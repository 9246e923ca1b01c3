@testable import LightScopeCapture
import XCTest

/// The pause a packet loop takes before draining a busy ring again (`FloodPacing`).
final class FloodPacingTests: XCTestCase {
    /// The default ring (`[capture] buffer_size_mib = 4`).
    let pacing = FloodPacing(ringBytes: 4 << 20)
    let second: UInt64 = 1_000_000_000

    /// The open stream of bench/livecost.sh: 74-byte frames at 280,000 a second, one block
    /// (about 1,600 of them) a wake-up, every 5.8 ms.
    func testABusyRingWaitsForAQuarterOfItAtTheRateSeen() {
        let packets: UInt64 = 1_650
        let elapsed = packets * second / 280_000
        let pause = pacing.pauseNanos(packets: packets, capturedBytes: packets * 74, elapsedNanos: elapsed, emptied: true,
                                      limitNanos: second)
        // A quarter of 4 MiB at (74 + 96) bytes a packet: 6,168 packets, 22 ms at this rate.
        XCTAssertEqual(Double(pause) / 1e6, 22.0, accuracy: 0.2)
        XCTAssertLessThanOrEqual(pause * 280_000 / second * (74 + FloodPacing.frameOverheadBytes), UInt64(4 << 20) / 4)
    }

    func testAPauseNeverExceedsItsBoundNorTheLoopsWakeInterval() {
        let slowBlock = pacing.pauseNanos(packets: 2_000, capturedBytes: 2_000 * 74, elapsedNanos: second / 10, emptied: true,
                                          limitNanos: second)
        XCTAssertEqual(slowBlock, FloodPacing.longestPauseNanos)
        let shortWake = pacing.pauseNanos(packets: 2_000, capturedBytes: 2_000 * 74, elapsedNanos: second / 10, emptied: true,
                                          limitNanos: 10_000_000)
        XCTAssertEqual(shortWake, 10_000_000)
    }

    /// Less than a block a wake-up: the kernel's blocks and read timeout wake the loop less
    /// often than a pause would.
    func testARingThatHandedOverLessThanABlockIsPolled() {
        XCTAssertEqual(pacing.pauseNanos(packets: 1_000, capturedBytes: 1_000 * 74, elapsedNanos: second / 10, emptied: true,
                                         limitNanos: second), 0)
        XCTAssertEqual(pacing.pauseNanos(packets: 0, capturedBytes: 0, elapsedNanos: second, emptied: true, limitNanos: second), 0)
    }

    /// A drain that stopped at its bound left packets in the ring: the loop reads on at once.
    func testARingLeftHoldingPacketsIsReadAgainAtOnce() {
        XCTAssertEqual(pacing.pauseNanos(packets: 65_536, capturedBytes: 65_536 * 74, elapsedNanos: second / 100, emptied: false,
                                         limitNanos: second), 0)
    }

    /// A ring that fills a quarter in under a millisecond is read as its blocks come.
    func testAFloodTooFastForAMillisecondPauseIsPolled() {
        let packets: UInt64 = 20_000
        XCTAssertEqual(pacing.pauseNanos(packets: packets, capturedBytes: packets * 74, elapsedNanos: 2_000_000, emptied: true,
                                         limitNanos: second), 0)
    }

    func testASourceWithoutARingIsNeverPaced() {
        XCTAssertEqual(FloodPacing(ringBytes: 0).pauseNanos(packets: 10_000, capturedBytes: 740_000, elapsedNanos: second / 100,
                                                            emptied: true, limitNanos: second), 0)
    }
}
