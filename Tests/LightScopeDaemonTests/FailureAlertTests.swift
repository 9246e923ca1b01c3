import Foundation
import Glibc
import LightScopeDaemon
import LightScopeTestSupport
import XCTest

/// The two halves of the alert unit: what `--collect` (root) leaves for `--notify` (the
/// unit's user, in the sandbox), and the admin's command run with it.
final class FailureAlertTests: XCTestCase {
    var user: ScratchUser!
    var directory: String!

    override func setUpWithError() throws {
        user = try ScratchUser()
        var template = Array("/tmp/lightscope-alert-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        directory = String(cString: created)
        user.own(directory)  // as RuntimeDirectory= gives it to the unit's User=
    }

    override func tearDown() {
        if let directory { _ = try? shell(["rm", "-rf", directory]) }
        user?.remove()
    }

    func testTheCollectedAlertIsTheUnitUsersAloneAndReadsBack() throws {
        let alert = FailureAlert.Alert(result: "start-limit-hit", text: "lightscope.service failed for good\nline 1\nline 2\n")
        XCTAssertNil(FailureAlert.save(alert, in: directory))
        let path = directory + "/" + FailureAlert.collectedFileName
        var status = stat()
        XCTAssertEqual(stat(path, &status), 0)
        XCTAssertEqual(status.st_uid, user.uid)
        XCTAssertEqual(status.st_mode & 0o777, 0o600)
        XCTAssertEqual(try user.run(["cat", path]).output, "start-limit-hit\n" + alert.text, "the unit's user reads it")
        XCTAssertEqual(FailureAlert.load(from: directory), alert)
    }

    func testNotifyRunsTheCommandWithTheAlertAndItsEnvironment() throws {
        let output = directory + "/delivered"
        let alert = FailureAlert.Alert(result: "exit-code", text: "three\nlines\nhere\n")
        let command = "{ echo \"$LIGHTSCOPE_UNIT $LIGHTSCOPE_RESULT\"; cat; } > \(output)"
        XCTAssertEqual(FailureAlert.notify(unit: "lightscope.service", alert: alert, command: command), 0)
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "lightscope.service exit-code\nthree\nlines\nhere\n")
        XCTAssertEqual(FailureAlert.notify(unit: "lightscope.service", alert: alert, command: "exit 3"), 1)
    }

    /// More than a pipe holds, to a command that never reads it: the write meets a closed pipe
    /// every time. SIGPIPE used to kill the alert there.
    func testACommandThatIgnoresTheAlertDoesNotKillIt() {
        let alert = FailureAlert.Alert(result: "exit-code", text: String(repeating: "a log line\n", count: 30_000))
        XCTAssertEqual(FailureAlert.notify(unit: "lightscope.service", alert: alert, command: "true"), 0)
    }
}
