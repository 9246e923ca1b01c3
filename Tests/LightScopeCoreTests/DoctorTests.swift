import LightScopeCore
import XCTest

final class DoctorTests: XCTestCase {
    private func unit(_ changes: [String: String] = [:]) -> SystemdUnitProperties {
        var unit = SystemdUnitProperties(parsing: SystemdUnitPropertiesTests.shippedUnit)
        unit.values.merge(changes) { $1 }
        return unit
    }

    func testShippedUnitPassesWithTheWatchdogValue() {
        let check = Doctor.unit(unit())
        XCTAssertTrue(check.passed, check.line)
        XCTAssertEqual(check.line, "PASS unit: Type=notify, WatchdogSec=30s, NotifyAccess=main")
    }

    func testChangedWatchdogPassesButSaysADropInChangedIt() {
        let check = Doctor.unit(unit(["WatchdogUSec": "1min", "DropInPaths": "/etc/systemd/system/lightscope.service.d/override.conf"]))
        XCTAssertTrue(check.passed)
        XCTAssertTrue(check.detail.hasPrefix("Type=notify, WatchdogSec=60s, NotifyAccess=main; the package ships 30s, so a drop-in changed it"), check.detail)
        XCTAssertTrue(check.detail.contains("override.conf"), check.detail)
    }

    func testWatchdogOffFailsWithTheFix() {
        let check = Doctor.unit(unit(["WatchdogUSec": "0"]))
        XCTAssertFalse(check.passed)
        XCTAssertTrue(check.line.hasPrefix("FAIL unit: Type=notify, WatchdogSec=0s, NotifyAccess=main: the watchdog is off"), check.line)
        XCTAssertTrue(check.fix!.contains("WatchdogSec=30"), check.line)
    }

    func testWrongTypeOrNotifyAccessOrMissingUnitFail() {
        XCTAssertFalse(Doctor.unit(unit(["Type": "simple"])).passed)
        XCTAssertTrue(Doctor.unit(unit(["NotifyAccess": "all"])).detail.contains("NotifyAccess must be main"))
        let missing = Doctor.unit(SystemdUnitProperties(parsing: "LoadState=not-found\nActiveState=inactive\n"))
        XCTAssertFalse(missing.passed)
        XCTAssertTrue(missing.detail.contains("not installed (LoadState=not-found)"), missing.line)
    }

    func testServiceMustBeRunning() {
        XCTAssertTrue(Doctor.service(unit()).passed)
        let stopped = Doctor.service(unit(["ActiveState": "inactive", "SubState": "dead"]))
        XCTAssertEqual(stopped.line, "FAIL service: lightscope.service is not running (ActiveState=inactive, SubState=dead) -> fix: systemctl start lightscope; if it stops again, journalctl -u lightscope -b -p err shows why")
        XCTAssertTrue(Doctor.service(unit(["ActiveState": "failed", "Result": "exit-code"])).detail.contains("Result=exit-code"))
    }

    func testWatchdogPingAgeAgainstWatchdogSec() {
        let last: UInt64 = 1_234_567_890
        let fresh = Doctor.watchdogPing(unit(), nowMonotonicMicros: last + 4_200_000)
        XCTAssertEqual(fresh.line, "PASS watchdog: last ping 4.2s ago (limit 30s)")
        let stale = Doctor.watchdogPing(unit(), nowMonotonicMicros: last + 31_000_000)
        XCTAssertFalse(stale.passed)
        XCTAssertTrue(stale.detail.hasPrefix("last ping 31s ago (limit 30s)"), stale.line)
        XCTAssertFalse(Doctor.watchdogPing(unit(["WatchdogTimestampMonotonic": "0"]), nowMonotonicMicros: last).passed)
        XCTAssertFalse(Doctor.watchdogPing(unit(["ActiveState": "inactive"]), nowMonotonicMicros: last).passed)
        XCTAssertFalse(Doctor.watchdogPing(unit(["WatchdogUSec": "0"]), nowMonotonicMicros: last).passed)
    }

    func testSystemdUnavailableFailsEverySystemdCheckSayingWhy() {
        let checks = Doctor.systemdUnavailable("PID 1 is not systemd (no /run/systemd/system)")
        XCTAssertEqual(checks.map(\.name), ["unit", "service", "watchdog"])
        XCTAssertTrue(checks.allSatisfy { !$0.passed && $0.detail.contains("PID 1 is not systemd") })
    }

    func testLibsystemdFromNeededLibraries() {
        XCTAssertTrue(Doctor.libsystemd(needed: ["libpcap.so.0.8", "libsystemd.so.0", "libc.so.6"], binary: "/usr/sbin/lightscope").passed)
        XCTAssertFalse(Doctor.libsystemd(needed: ["libc.so.6"], binary: "/x").passed)
        XCTAssertFalse(Doctor.libsystemd(needed: nil, binary: "/x").passed)
    }

    func testCaptureCapabilityFromTheUnitOrThisProcess() {
        XCTAssertTrue(Doctor.captureCapability(unit: unit(), effectiveCapabilities: 0, uid: 1000).passed)
        let dropped = Doctor.captureCapability(unit: unit(["AmbientCapabilities": ""]), effectiveCapabilities: ~0, uid: 0)
        XCTAssertFalse(dropped.passed, "the unit decides when there is one, whoever runs doctor")
        XCTAssertTrue(Doctor.captureCapability(unit: nil, effectiveCapabilities: 0, uid: 0).passed)
        XCTAssertTrue(Doctor.captureCapability(unit: nil, effectiveCapabilities: 0x2000, uid: 1000).passed)
        XCTAssertFalse(Doctor.captureCapability(unit: nil, effectiveCapabilities: 0x1000, uid: 1000).passed)
        XCTAssertEqual(Doctor.effectiveCapabilities(procStatus: "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000002000\n"), 0x2000)
    }

    func testInterfacesMustExist() {
        XCTAssertTrue(Doctor.interfaces(configured: [], existing: ["lo", "eth0"]).passed)
        XCTAssertTrue(Doctor.interfaces(configured: ["eth0"], existing: ["lo", "eth0"]).passed)
        let missing = Doctor.interfaces(configured: ["eth0", "eth9"], existing: ["lo", "eth0"])
        XCTAssertEqual(missing.detail, "no such interface: eth9 (present: lo, eth0)")
    }

    func testConfigErrorNamesTheLine() {
        let error = ConfigError(source: "/etc/lightscope/lightscope.conf", line: 12, problem: "ping_interval: 'soon' is not a duration")
        let check = Doctor.config(path: error.source, exists: true, error: error)
        XCTAssertEqual(check.line, "FAIL config: invalid config /etc/lightscope/lightscope.conf line 12: ping_interval: 'soon' is not a duration -> fix: correct line 12 of /etc/lightscope/lightscope.conf, then systemctl reload lightscope")
        XCTAssertTrue(Doctor.config(path: "/x.conf", exists: false, error: nil).detail.contains("absent"))
    }

    func testStoreWritabilityForTheDaemonsUser() {
        let directory = Doctor.FileFacts(mode: 0o750, owner: 105, group: 107, isDirectory: true)
        let database = Doctor.FileFacts(mode: 0o600, owner: 105, group: 107, isDirectory: false)
        func check(_ directoryFacts: Doctor.FileFacts?, _ databaseFacts: Doctor.FileFacts?, uid: UInt32 = 105, readOnly: Bool = false) -> DoctorCheck {
            Doctor.store(directory: "/var/lib/lightscope", directoryFacts: directoryFacts, databaseFacts: databaseFacts,
                         readOnlyFileSystem: readOnly, user: "lightscope", uid: uid, groups: [107])
        }
        XCTAssertEqual(check(directory, database).line, "PASS store: /var/lib/lightscope/events.sqlite is writable by lightscope")
        XCTAssertTrue(check(directory, nil).detail.contains("created when the daemon first runs"))
        XCTAssertFalse(check(nil, nil).passed)
        XCTAssertFalse(check(directory, database, readOnly: true).passed)
        XCTAssertFalse(check(Doctor.FileFacts(mode: 0o755, owner: 0, group: 0, isDirectory: true), nil).passed)
        XCTAssertTrue(check(Doctor.FileFacts(mode: 0o770, owner: 0, group: 107, isDirectory: true), nil).passed, "group write")
        let rootsDatabase = check(directory, Doctor.FileFacts(mode: 0o644, owner: 0, group: 0, isDirectory: false))
        XCTAssertEqual(rootsDatabase.fix, "chown lightscope: /var/lib/lightscope/events.sqlite && chmod u+rw /var/lib/lightscope/events.sqlite")
        XCTAssertTrue(check(Doctor.FileFacts(mode: 0o700, owner: 105, group: 0, isDirectory: true), nil, uid: 0).passed, "root")
        XCTAssertFalse(Doctor.FileFacts(mode: 0o600, owner: 105, group: 0, isDirectory: true).allowsWrite(uid: 105, groups: []),
                       "a directory without search permission cannot be written into")
    }

    func testAccessFailsOnPermissionAndIgnoresWhatIsMissing() {
        let denied = Doctor.access(readErrors: [("/run/lightscope/status.json", 13), ("/var/lib/lightscope/events.sqlite", nil)], user: "ann")
        XCTAssertFalse(denied.passed)
        XCTAssertEqual(denied.detail, "ann cannot read /run/lightscope/status.json: permission denied: run as root or as a member of group adm")
        let fine = Doctor.access(readErrors: [("/run/lightscope/status.json", nil)], user: "root")
        XCTAssertEqual(fine.line, "PASS access: root can read /run/lightscope/status.json")
        XCTAssertTrue(Doctor.access(readErrors: [], user: "ann").passed, "nothing there: the service and store checks say so")
        XCTAssertEqual(Doctor.access(readErrors: [("/x", 5)], user: "ann").detail, "ann cannot read /x (errno 5)", "EIO is not permission")
    }
}

final class MetricsExposureTests: XCTestCase {
    func testOnlyANonLoopbackListenerWithoutEnforcedRulesIsWarnedAbout() {
        let exposed = MetricsEndpoint("0.0.0.0:9870")!
        for loopback in ["127.0.0.1:9870", "127.0.0.53:9870", "[::1]:9870"] {
            for sandbox in [MetricsExposure.Sandbox.enforced, .noCgroupV2, .none] {
                XCTAssertNil(MetricsExposure.warning(listen: MetricsEndpoint(loopback), sandbox: sandbox), loopback)
            }
            XCTAssertTrue(Doctor.metrics(listen: MetricsEndpoint(loopback), sandbox: .noCgroupV2).passed)
        }
        XCTAssertNil(MetricsExposure.warning(listen: nil, sandbox: .none))
        XCTAssertNil(MetricsExposure.warning(listen: exposed, sandbox: .enforced))
        let noCgroup = MetricsExposure.warning(listen: exposed, sandbox: .noCgroupV2) ?? ""
        XCTAssertTrue(noCgroup.hasPrefix("Metrics listen on 0.0.0.0:9870, which is not a loopback address, and this host has no cgroup v2"), noCgroup)
        XCTAssertTrue(noCgroup.contains("Set [metrics] listen = 127.0.0.1:9870"), noCgroup)
        XCTAssertTrue(MetricsExposure.warning(listen: MetricsEndpoint("[2001:db8::1]:9100"), sandbox: .none)?
            .contains("was not started by systemd") ?? false)
        let check = Doctor.metrics(listen: exposed, sandbox: .noCgroupV2)
        XCTAssertFalse(check.passed)
        XCTAssertEqual(check.fix, "set [metrics] listen = 127.0.0.1:9870, or firewall port 9870")
        XCTAssertEqual(Doctor.metrics(listen: exposed, sandbox: .enforced).line,
                       "PASS metrics: 0.0.0.0:9870: kept from other hosts by the unit's IPAddressDeny= (cgroup v2)")
    }

    func testSpecialUseRanges() {
        let expected: [(String, SpecialUseAddress?)] = [
            ("127.0.0.2", .loopback), ("::1", .loopback), ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("::", .unspecified),
            ("255.255.255.255", .broadcast), ("224.0.0.1", .multicast), ("239.255.255.250", .multicast), ("ff02::1", .multicast),
            ("169.254.169.254", .linkLocal), ("fe80::1", .linkLocal), ("febf::1", .linkLocal),
            ("203.0.113.7", nil), ("2001:db8::7", nil), ("fec0::1", nil), ("223.255.255.255", nil), ("::2", nil),
        ]
        for (text, use) in expected {
            XCTAssertEqual(SpecialUseAddress(IPAddress(text)!), use, text)
        }
    }
}
