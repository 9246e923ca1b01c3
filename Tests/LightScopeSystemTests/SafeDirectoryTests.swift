import Foundation
import Glibc
import LightScopeCore
import LightScopeSystem
import LightScopeTestSupport
import XCTest

/// `SafeDirectory` against a real second user who owns directories, loosens them and plants
/// links, as ssh's StrictModes would judge them. Needs root (useradd, chown).
final class SafeDirectoryTests: XCTestCase {
    var user: ScratchUser!
    var base: String!

    override func setUpWithError() throws {
        user = try ScratchUser()
        var template = Array("/tmp/lightscope-safe-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        base = String(cString: created)
        chmod(base, 0o755)  // the other user may look, as in /var/lib
    }

    override func tearDown() {
        if let base { _ = try? shell(["rm", "-rf", base]) }
        user?.remove()
    }

    private func directory(_ name: String, mode: mode_t = 0o750, owner: ScratchUser? = nil) -> String {
        let path = base + "/" + name
        mkdir(path, 0o700)
        chmod(path, mode)
        owner?.own(path)
        return path
    }

    func testRootsDirectoryUnderTmpIsSafe() {
        // /tmp is root's, sticky and writable by all: allowed above the directory.
        XCTAssertNil(SafeDirectory.problem(with: directory("state"), role: "state directory", uid: 0))
        XCTAssertNil(SafeDirectory.problem(with: base + "/./state/../state", role: "state directory", uid: 0))
    }

    func testDirectoryOfAnotherUserIsRefusedUnlessItRunsAsThatUser() throws {
        let state = directory("state", owner: user)
        let problem = try XCTUnwrap(SafeDirectory.problem(with: state, role: "state directory", uid: 0))
        XCTAssertTrue(problem.contains("\(state) belongs to user \(user.name) (uid \(user.uid)), not to root, who runs LightScope"), problem)
        XCTAssertTrue(problem.contains("chown root \(state)"), problem)
        XCTAssertNil(SafeDirectory.problem(with: state, role: "state directory", uid: user.uid), "its own user may use it")
    }

    func testGroupOrOtherWritableAnywhereAlongThePathIsRefused() throws {
        let state = directory("state", mode: 0o770)
        var problem = try XCTUnwrap(SafeDirectory.problem(with: state, role: "state directory", uid: 0))
        XCTAssertTrue(problem.contains("\(state) is writable by its group or by others (mode 770)"), problem)
        XCTAssertTrue(problem.contains("chmod go-w \(state)"), problem)

        chmod(state, 0o700)
        chmod(base, 0o777)
        problem = try XCTUnwrap(SafeDirectory.problem(with: state, role: "state directory", uid: 0))
        XCTAssertTrue(problem.contains("\(base!) is writable by its group or by others (mode 777)"), problem)
        // What the other user can do there: swap the state directory for one of their own.
        try user.run(["mv", state, base + "/moved"])
        try user.run(["mkdir", state])
        XCTAssertNotNil(SafeDirectory.problem(with: state, role: "state directory", uid: 0))
    }

    func testStickyRootDirectoryIsAllowedAboveButNeverAsTheDirectory() throws {
        let state = directory("state")
        chmod(base, 0o1777)
        XCTAssertNil(SafeDirectory.problem(with: state, role: "state directory", uid: 0))
        chmod(state, 0o1777)
        XCTAssertNotNil(SafeDirectory.problem(with: state, role: "state directory", uid: 0))
    }

    func testLinksAreFollowedAndTheirTargetsHeldToTheSameRule() throws {
        let theirs = directory("theirs", mode: 0o755, owner: user)
        mkdir(theirs + "/state", 0o700)
        XCTAssertEqual(symlink(theirs + "/state", base + "/state"), 0)
        var problem = try XCTUnwrap(SafeDirectory.problem(with: base + "/state", role: "state directory", uid: 0))
        XCTAssertTrue(problem.contains("\(theirs) belongs to user \(user.name)"), problem)

        // In a sticky directory anyone may add a link; one of theirs is refused even to a safe target.
        let shared = directory("shared", mode: 0o1777)
        let safe = directory("safe")
        try user.run(["ln", "-s", safe, shared + "/state"])
        problem = try XCTUnwrap(SafeDirectory.problem(with: shared + "/state", role: "state directory", uid: 0))
        XCTAssertTrue(problem.contains("the symbolic link \(shared)/state belongs to user \(user.name)"), problem)
        XCTAssertTrue(problem.contains("chown -h root \(shared)/state"), problem)
        XCTAssertEqual(symlink(safe, shared + "/mine"), 0)
        XCTAssertNil(SafeDirectory.problem(with: shared + "/mine", role: "state directory", uid: 0), "root's own link")
    }

    func testAMissingDirectoryOrAFileIsNamed() {
        XCTAssertTrue(SafeDirectory.problem(with: base + "/missing", role: "state directory", uid: 0)?.contains("cannot be examined") ?? false)
        XCTAssertTrue(FileManager.default.createFile(atPath: base + "/file", contents: nil))
        XCTAssertTrue(SafeDirectory.problem(with: base + "/file", role: "state directory", uid: 0)?.contains("is not a directory") ?? false)
    }
}
