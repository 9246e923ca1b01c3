import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// A metrics listener on a non-loopback address, where nothing keeps other hosts out: the
/// daemon warns at start-up and `doctor` fails its metrics check.
final class MetricsExposureWarningTests: XCTestCase {
    private func config(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "lightscope-metrics-\(UUID().uuidString).conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Outside systemd (as scripts/run.sh runs it) there is no unit sandbox at all.
    func testTheDaemonWarnsWhenItsListenerIsNotLoopbackAndNothingFiltersPeers() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let state = NSTemporaryDirectory() + "lightscope-metrics-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let exposed = try config("[metrics]\nlisten = 0.0.0.0:9870\n")
        let daemon = try DaemonProcess(arguments: ["run", "--config", exposed, "--interface", lab.hostInterface, "--state-dir", state],
                                       namespace: lab.host)
        XCTAssertTrue(daemon.waitForLog("Serving Prometheus metrics", timeout: 10), daemon.log)
        XCTAssertTrue(daemon.waitForLog("warning: Metrics listen on 0.0.0.0:9870, which is not a loopback address, and this daemon was not started by systemd",
                                        timeout: 2), daemon.log)
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.log)

        let loopback = try config("[metrics]\nlisten = 127.0.0.1:9870\n")
        let quiet = try DaemonProcess(arguments: ["run", "--config", loopback, "--interface", lab.hostInterface, "--state-dir", state],
                                      namespace: lab.host)
        XCTAssertTrue(quiet.waitForLog("Serving Prometheus metrics", timeout: 10), quiet.log)
        quiet.signal(SIGTERM)
        XCTAssertEqual(quiet.waitForExit(timeout: 10), 0, quiet.log)
        XCTAssertFalse(quiet.log.contains("not a loopback address"), quiet.log)
    }

    func testDoctorFailsTheMetricsCheck() throws {
        let exposed = try lightscope(["doctor", "--config", try config("[metrics]\nlisten = [::]:9870\n")])
        let line = exposed.lines.first { $0.hasPrefix("FAIL metrics:") } ?? "no FAIL metrics line in:\n\(exposed.output)"
        XCTAssertTrue(line.contains("Metrics listen on [::]:9870, which is not a loopback address"), line)
        XCTAssertTrue(line.hasSuffix("-> fix: set [metrics] listen = 127.0.0.1:9870, or firewall port 9870"), line)
        let loopback = try lightscope(["doctor", "--config", try config("[metrics]\nlisten = [::1]:9870\n")])
        XCTAssertTrue(loopback.lines.contains("PASS metrics: [::1]:9870: a loopback address"), loopback.output)
    }
}
