import Foundation
import LightScopeTestSupport
import XCTest

/// Each problem: one clear line naming it and the fix, the same text in STATUS=, and a
/// non-zero exit that tells systemd whether restarting can help.
final class BadInputTests: XCTestCase {
    func testUnknownInterfaceExitsWithConfigError() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, arguments: ["--interface", "lsnope9"])
        defer { harness.cleanUp() }
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 78, harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("No such network interface: lsnope9"), harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("fix --interface"), harness.daemon.log)
        let status = harness.listener.wait(timeout: 2) { $0.has("STATUS") }.match
        XCTAssertTrue(status?.assignments["STATUS"]?.contains("No such network interface: lsnope9") ?? false, "\(String(describing: status))")
        XCTAssertNil(harness.listener.receive(timeout: 0.2).flatMap { $0.contains("READY=1") ? $0 : nil })
    }

    /// `--interface` twice trapped in Dictionary(uniqueKeysWithValues:): exit 132, not 78.
    func testAnInterfaceNamedTwiceIsAConfigErrorNotACrash() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, arguments: ["--interface", lab.hostInterface, "--interface", lab.hostInterface])
        defer { harness.cleanUp() }
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 78, harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("--interface \(lab.hostInterface) is given twice (the first and the second --interface)"),
                      harness.daemon.log)
    }

    /// Found by ConfigFuzzTests: a duration beyond Int64 nanoseconds trapped the daemon.
    func testAHugeDurationExitsWithItsLineNumberNotACrash() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[capture]\ninterface_rescan_interval = 1e300\n")
        defer { harness.cleanUp() }
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 78, harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("line 4: interface_rescan_interval: '1e300' must be a duration"), harness.daemon.log)
    }

    func testInvalidConfigExitsWithItsLineNumber() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[capture]\nsnaplen = 64000\nbuffer_size_mib = huge\n")
        defer { harness.cleanUp() }
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 78, harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("line 3"), harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("buffer_size_mib: 'huge'"), harness.daemon.log)
    }

    func testMissingConfigFileNamedOnTheCommandLine() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        // Its own state directory: a daemon that fails still records the run, and this host's
        // /var/lib/lightscope is not the test's to write.
        let stateDirectory = NSTemporaryDirectory() + "lightscope-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let daemon = try DaemonProcess(arguments: ["run", "--config", "/nonexistent/lightscope.conf", "--interface", lab.hostInterface,
                                                   "--state-dir", stateDirectory],
                                       namespace: lab.host)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 78, daemon.log)
        XCTAssertTrue(daemon.log.contains("cannot read it (No such file or directory)"), daemon.log)
    }

    func testMissingCaptureCapabilityExitsWithNoPermission() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, asUser: "65534")
        defer { harness.cleanUp() }
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 77, harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("No permission to capture on \(lab.hostInterface)"), harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("CAP_NET_RAW"), harness.daemon.log)
    }
}
