import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// An admin who is neither root nor in group adm, as a real second user (nobody, uid 65534):
/// the daemon's files are closed to them, and every command says so in the same words
/// instead of reporting a running daemon as stopped or its store as missing.
final class PermissionTests: XCTestCase {
    private let nobody = "65534"

    /// A state directory (0700, root's, as mkdtemp makes it) with a store and a status file.
    private func closedState() throws -> FilledStateDirectory {
        try requireRoot()
        let state = try FilledStateDirectory()
        try state.insert([state.event("203.0.113.7", secondsAgo: 60)])
        let runtime = state.path + "/run"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: false)
        chmod(runtime, 0o750)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: runtime + "/status.json"))
        return state
    }

    func testStatusSaysPermissionDeniedNotNotRunning() throws {
        let state = try closedState()
        let result = try lightscope(["status", "--state-dir", state.path], asUser: nobody)
        XCTAssertEqual(result.status, 4, "LSB: status unknown\n\(result.output)\(result.errors)")
        XCTAssertTrue(result.output.contains("Cannot read the status file \(state.path)/run/status.json: \(ReadAccess.permissionDenied)"),
                      result.output)
        XCTAssertFalse(result.output.contains("not running"), result.output)
    }

    func testStoreCommandsSayPermissionDenied() throws {
        let state = try closedState()
        for command in [["events"], ["top"], ["blocklist", "--format", "plain"]] {
            let result = try lightscope(command + ["--state-dir", state.path], asUser: nobody)
            XCTAssertEqual(result.status, 1, command[0])
            XCTAssertEqual(result.errors, "error: cannot read the event store \(state.path)/events.sqlite: \(ReadAccess.permissionDenied)\n")
        }
        // The same store as root: readable.
        XCTAssertEqual(try lightscope(["events", "--state-dir", state.path]).status, 0)
    }

    func testDoctorFailsTheAccessCheckInsteadOfPassingEverything() throws {
        let state = try closedState()
        let config = NSTemporaryDirectory() + "lightscope-perm-\(UUID().uuidString).conf"
        try "[capture]\ninterfaces = lo\n".write(toFile: config, atomically: true, encoding: .utf8)
        chmod(config, 0o644)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let denied = try lightscope(["doctor", "--config", config, "--state-dir", state.path], asUser: nobody)
        XCTAssertEqual(denied.status, 1)
        let access = denied.lines.first { $0.hasPrefix("FAIL access:") } ?? "no FAIL access line:\n\(denied.output)"
        XCTAssertTrue(access.contains("cannot read \(state.path)/run/status.json and \(state.path)/events.sqlite: \(ReadAccess.permissionDenied)"),
                      access)
        XCTAssertFalse(denied.output.contains("checks passed"), denied.output)
        let root = try lightscope(["doctor", "--config", config, "--state-dir", state.path])
        XCTAssertTrue(root.lines.contains { $0.hasPrefix("PASS access: ") && $0.contains("can read") }, root.output)
    }
}
