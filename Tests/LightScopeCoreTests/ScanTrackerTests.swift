@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// The scan tracker's memory: a source is kept for its window, counted from the window's
/// first attempt, and forgetting it must never change a verdict.
final class ScanTrackerTests: XCTestCase {
    let second: UInt64 = 1_000_000_000
    let source = IPAddress(ipv4: 0x6440_0001)
    let host = IPAddress(ipv4: 0xC000_0201)

    func tracker(capacity: Int = 1000) -> ScanTracker {
        ScanTracker(portscanPorts: 3, addrscanAddresses: 2, window: .seconds(10), capacity: capacity)
    }

    func testASourceIsForgottenWhenItsWindowEndsNotAWindowAfterItsLastAttempt() {
        var scans = tracker()
        scans.record(source: source, destination: host, port: 1, nowNanos: 0) { _ in }
        scans.record(source: source, destination: host, port: 2, nowNanos: 9 * second) { _ in }
        scans.expire(nowNanos: 10 * second)
        XCTAssertEqual(scans.trackedSources, 1, "exactly one window after its start the window is still open")
        scans.expire(nowNanos: 10 * second + 1)
        XCTAssertEqual(scans.trackedSources, 0, "the window that started at 0 is over, though the last attempt was at 9 s")
        // The next attempt starts a new window: one port so far, no portscan.
        var crossings: [ScanTracker.Crossing] = []
        scans.record(source: source, destination: host, port: 3, nowNanos: 10 * second + 2) { crossings.append($0) }
        XCTAssertEqual(crossings, [])
    }

    func testANewWindowKeepsTheSourceUntilThatWindowEnds() {
        var scans = tracker()
        scans.record(source: source, destination: host, port: 1, nowNanos: 0) { _ in }
        scans.record(source: source, destination: host, port: 2, nowNanos: 11 * second) { _ in } // a new window
        scans.expire(nowNanos: 15 * second)
        XCTAssertEqual(scans.trackedSources, 1, "its window started at 11 s")
        scans.expire(nowNanos: 21 * second + 1)
        XCTAssertEqual(scans.trackedSources, 0)
    }

    func testForgettingChangesNoVerdict() {
        var generator = SplitMix64(seed: 11)
        var forgetting = tracker()
        var remembering = tracker()
        var forgettingCrossings: [ScanTracker.Crossing] = []
        var rememberingCrossings: [ScanTracker.Crossing] = []
        var now: UInt64 = 0
        for _ in 0..<20_000 {
            now += generator.next() % (4 * second)
            let value = generator.next()
            let source = IPAddress(ipv4: 0x6440_0000 | UInt32(value % 5))
            let destination = IPAddress(ipv4: 0xC000_0200 | UInt32(value >> 8 % 3))
            let port = UInt16(value >> 16 % 6)
            forgetting.expire(nowNanos: now)
            forgetting.record(source: source, destination: destination, port: port, nowNanos: now) { forgettingCrossings.append($0) }
            remembering.record(source: source, destination: destination, port: port, nowNanos: now) { rememberingCrossings.append($0) }
        }
        XCTAssertGreaterThan(rememberingCrossings.count, 100, "the sequence must cross the thresholds often to test anything")
        XCTAssertEqual(forgettingCrossings, rememberingCrossings)
        forgetting.expire(nowNanos: now + 10 * second + 1)
        XCTAssertEqual(forgetting.trackedSources, 0, "every window is over a window after the last attempt")
    }
}
