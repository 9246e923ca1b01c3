import LightScopeCore
import XCTest

final class SystemdUnitPropertiesTests: XCTestCase {
    /// What systemd 252's `systemctl show lightscope -p ...` printed for the packaged unit.
    static let shippedUnit = """
        Type=notify
        NotifyAccess=main
        WatchdogUSec=30s
        Result=success
        MainPID=4242
        WatchdogTimestampMonotonic=1234567890
        User=lightscope
        AmbientCapabilities=cap_net_raw
        LoadState=loaded
        ActiveState=active
        SubState=running
        DropInPaths=

        """

    func testParsesTheShippedUnit() {
        let unit = SystemdUnitProperties(parsing: Self.shippedUnit)
        XCTAssertTrue(unit.isLoaded)
        XCTAssertEqual(unit.type, "notify")
        XCTAssertEqual(unit.notifyAccess, "main")
        XCTAssertEqual(unit.watchdogMicros, 30_000_000)
        XCTAssertEqual(unit.watchdogTimestampMonotonicMicros, 1_234_567_890)
        XCTAssertEqual(unit.ambientCapabilities, ["cap_net_raw"])
        XCTAssertEqual(unit.user, "lightscope")
        XCTAssertEqual(unit.dropInPaths, [])
        XCTAssertEqual(unit["MainPID"], "4242")
    }

    func testValuesMayContainEqualsSignsAndLinesWithoutOneAreIgnored() {
        let unit = SystemdUnitProperties(parsing: "StatusText=a=b\ngarbage\nDropInPaths=/etc/a.conf /etc/b.conf\n")
        XCTAssertEqual(unit["StatusText"], "a=b")
        XCTAssertEqual(unit.dropInPaths, ["/etc/a.conf", "/etc/b.conf"])
        XCTAssertFalse(unit.isLoaded)
    }

    func testTimespansAsSystemctlPrintsThem() {
        XCTAssertEqual(SystemdTimespan.parseMicros("30s"), 30_000_000)
        XCTAssertEqual(SystemdTimespan.parseMicros("1min 30s"), 90_000_000)
        XCTAssertEqual(SystemdTimespan.parseMicros("500ms"), 500_000)
        XCTAssertEqual(SystemdTimespan.parseMicros("1.500000s"), 1_500_000)
        XCTAssertEqual(SystemdTimespan.parseMicros("1h 2min"), 3_720_000_000)
        XCTAssertEqual(SystemdTimespan.parseMicros("0"), 0)
        XCTAssertEqual(SystemdTimespan.parseMicros("infinity"), .max)
        XCTAssertNil(SystemdTimespan.parseMicros(""))
        XCTAssertNil(SystemdTimespan.parseMicros("30 parsecs"))
        XCTAssertEqual(SystemdTimespan.format(micros: 30_000_000), "30s")
        XCTAssertEqual(SystemdTimespan.format(micros: 4_230_000), "4.2s")
        XCTAssertEqual(SystemdTimespan.format(micros: 250_000), "250ms")
    }
}
