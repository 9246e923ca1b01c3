import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `lightscope doctor` outside systemd (the test host), through the real binary. Under a real
/// systemd it is exercised by Tests/system/run.sh.
final class DoctorCommandTests: XCTestCase {
    private func config(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "lightscope-doctor-\(UUID().uuidString).conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func line(_ name: String, in result: CLIResult) -> String {
        result.lines.first { $0.hasPrefix("PASS \(name):") || $0.hasPrefix("FAIL \(name):") } ?? "no \(name) line in:\n\(result.output)"
    }

    func testChecksOutsideSystemdEachOnOneLine() throws {
        try requireRoot()
        let state = try FilledStateDirectory()
        try state.insert([state.event("203.0.113.7", secondsAgo: 1)])
        let result = try lightscope(["doctor", "--config", try config("[capture]\ninterfaces = lo\n"), "--state-dir", state.path])
        XCTAssertEqual(result.lines.map { String($0.prefix(4)) }.filter { $0 == "PASS" || $0 == "FAIL" }.count, 10, result.output)
        XCTAssertTrue(line("libsystemd", in: result).hasPrefix("PASS libsystemd: "), result.output)
        XCTAssertTrue(line("libsystemd", in: result).contains("links libsystemd.so.0"), result.output)
        XCTAssertTrue(line("capture", in: result).hasPrefix("PASS capture: running as root"), result.output)
        XCTAssertTrue(line("interfaces", in: result).hasPrefix("PASS interfaces: lo exist"), result.output)
        XCTAssertTrue(line("config", in: result).hasPrefix("PASS config: "), result.output)
        XCTAssertEqual(line("store", in: result), "PASS store: \(state.path)/events.sqlite is writable by uid 0")
        if !FileManager.default.fileExists(atPath: "/run/systemd/system") {
            XCTAssertEqual(result.status, 1, "the systemd checks cannot pass without systemd")
            XCTAssertTrue(line("unit", in: result).hasPrefix("FAIL unit: cannot check: PID 1 is not systemd (no /run/systemd/system)"),
                          result.output)
            XCTAssertTrue(line("watchdog", in: result).hasPrefix("FAIL watchdog: cannot check:"), result.output)
            XCTAssertEqual(result.lines.last, "3 of 10 checks failed.")
        }
    }

    func testBadConfigMissingInterfaceAndMissingStateDirectoryFailWithTheirFixes() throws {
        let badLine = try lightscope(["doctor", "--config", try config("[watchdog]\n\nping_interval = soon\n"), "--state-dir", "/nonexistent/state"])
        XCTAssertEqual(badLine.status, 1)
        XCTAssertTrue(line("config", in: badLine).hasPrefix("FAIL config: invalid config "), badLine.output)
        XCTAssertTrue(line("config", in: badLine).contains(".conf line 3: ping_interval"), badLine.output)
        XCTAssertTrue(line("config", in: badLine).contains("-> fix: correct line 3 of "), badLine.output)
        XCTAssertTrue(line("store", in: badLine).hasPrefix("FAIL store: /nonexistent/state does not exist"), badLine.output)

        let missing = try lightscope(["doctor", "--config", try config("[capture]\ninterfaces = lo, lsT-absent0\n")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(line("interfaces", in: missing).hasPrefix("FAIL interfaces: no such interface: lsT-absent0 (present: lo"), missing.output)
    }
}
