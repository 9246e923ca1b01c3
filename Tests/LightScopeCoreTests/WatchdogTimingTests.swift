import LightScopeCore
import XCTest

final class WatchdogTimingTests: XCTestCase {
    func testDefaultsFollowSystemdsWatchdogSec() throws {
        let timing = try WatchdogTiming(systemdTimeout: .seconds(30), settings: Settings.Watchdog())
        XCTAssertEqual(timing.pingInterval, .seconds(15))
        XCTAssertEqual(timing.stallLimit, .seconds(30))
        XCTAssertEqual(timing.loopWake, .seconds(1))
    }

    func testShortWatchdogShortensTheLoopWake() throws {
        let timing = try WatchdogTiming(systemdTimeout: .seconds(2), settings: Settings.Watchdog())
        XCTAssertEqual(timing.pingInterval, .seconds(1))
        XCTAssertEqual(timing.loopWake, .milliseconds(250))
    }

    func testAConfiguredShorterIntervalIsUsed() throws {
        var settings = Settings.Watchdog()
        settings.pingInterval = .seconds(5)
        let timing = try WatchdogTiming(systemdTimeout: .seconds(30), settings: settings)
        XCTAssertEqual(timing.pingInterval, .seconds(5))
    }

    func testAnIntervalAtOrAboveWatchdogSecIsRejected() {
        var settings = Settings.Watchdog()
        settings.pingInterval = .seconds(30)
        XCTAssertThrowsError(try WatchdogTiming(systemdTimeout: .seconds(30), settings: settings)) { error in
            XCTAssertTrue("\(error)".contains("must be shorter than systemd's WatchdogSec"), "\(error)")
        }
    }

    func testWithoutSystemdStallsAreStillChecked() throws {
        let timing = try WatchdogTiming(systemdTimeout: nil, settings: Settings.Watchdog())
        XCTAssertNil(timing.systemdTimeout)
        XCTAssertEqual(timing.stallLimit, WatchdogTiming.fallbackStallLimit)
    }
}
