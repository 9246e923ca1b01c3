import Foundation
import Glibc
import LightScopeTestSupport
import XCTest

/// A real second user who owns or once could write LightScope's directories, and plants
/// symbolic links there to root's files, against the real daemon run as root: it refuses
/// their directories (exit 78, the path and the fix in the message), and where a link slipped
/// into a directory that is safe now, it never writes through it. Needs root.
final class HostileStateDirectoryTests: XCTestCase {
    var user: ScratchUser!
    var base: String!
    /// Root's files the links point at: an empty one (SQLite would make it a database) and one
    /// with content (a truncating open would empty it).
    var emptyVictim: String!
    var victim: String!
    var lab: NamespaceLab?
    let victimText = "root's file, not LightScope's\n"

    override func setUpWithError() throws {
        user = try ScratchUser()
        var template = Array("/tmp/lightscope-hostile-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        base = String(cString: created)
        chmod(base, 0o755)
        emptyVictim = base + "/empty-victim"
        victim = base + "/victim"
        XCTAssertTrue(FileManager.default.createFile(atPath: emptyVictim, contents: nil, attributes: [.posixPermissions: 0o600]))
        XCTAssertTrue(FileManager.default.createFile(atPath: victim, contents: Data(victimText.utf8), attributes: [.posixPermissions: 0o600]))
    }

    override func tearDown() {
        lab?.destroy()
        if let base { _ = try? shell(["rm", "-rf", base]) }
        user?.remove()
    }

    private func assertVictimsUntouched(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try? String(contentsOfFile: victim, encoding: .utf8), victimText, file: file, line: line)
        XCTAssertEqual((try? FileManager.default.attributesOfItem(atPath: emptyVictim)[.size] as? Int) ?? -1, 0, file: file, line: line)
    }

    /// What the other user plants: the store, the run history and its temporary file.
    private func plantLinks(in directory: String) throws {
        try user.run(["ln", "-s", emptyVictim, directory + "/events.sqlite"])
        try user.run(["ln", "-s", victim, directory + "/runs.json.tmp"])
        try user.run(["ln", "-s", victim, directory + "/runs.json"])
    }

    /// A directory that belongs to the other user, as if they had made it.
    private func theirDirectory(_ path: String) {
        mkdir(path, 0o755)
        chmod(path, 0o755)
        user.own(path)
    }

    /// The daemon as root, in a network namespace of its own (it should stop long before capture).
    private func runAsRoot(stateDirectory: String) throws -> DaemonProcess {
        lab = try NamespaceLab(withVeth: false)
        return try DaemonProcess(arguments: ["run", "--config", "/dev/null", "--interface", "lo", "--state-dir", stateDirectory],
                                 namespace: lab?.host)
    }

    func testStateDirectoryOfAnotherUserIsRefused() throws {
        let state = base + "/state"
        theirDirectory(state)
        try plantLinks(in: state)
        let daemon = try runAsRoot(stateDirectory: state)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 78, daemon.log)
        XCTAssertTrue(daemon.log.contains("Refusing the state directory \(state): \(state) belongs to user \(user.name)"), daemon.log)
        XCTAssertTrue(daemon.log.contains("chown root \(state)"), daemon.log)
        assertVictimsUntouched()
    }

    /// The unit's ExecStopPost= step writes runs.json too, and holds the directory to the same rule.
    func testRecordExitRefusesTheirDirectory() throws {
        let state = base + "/state"
        theirDirectory(state)
        try plantLinks(in: state)
        let recorder = try DaemonProcess(arguments: ["record-exit", "--state-dir", state], environment: ["SERVICE_RESULT": "watchdog"])
        XCTAssertEqual(recorder.waitForExit(timeout: 10), 78, recorder.log)
        XCTAssertTrue(recorder.log.contains("Refusing the state directory \(state): \(state) belongs to user \(user.name)"), recorder.log)
        assertVictimsUntouched()
    }

    func testDirectoryAboveOwnedByAnotherUserIsRefused() throws {
        let theirs = base + "/theirs"
        theirDirectory(theirs)
        mkdir(theirs + "/state", 0o700)
        let daemon = try runAsRoot(stateDirectory: theirs + "/state")
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 78, daemon.log)
        XCTAssertTrue(daemon.log.contains("\(theirs) belongs to user \(user.name)"), daemon.log)
    }

    func testLoosenedStateDirectoryIsRefused() throws {
        let state = base + "/state"
        mkdir(state, 0o700)
        chmod(state, 0o777)
        try plantLinks(in: state)
        let daemon = try runAsRoot(stateDirectory: state)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 78, daemon.log)
        XCTAssertTrue(daemon.log.contains("\(state) is writable by its group or by others (mode 777)"), daemon.log)
        XCTAssertTrue(daemon.log.contains("chmod go-w \(state)"), daemon.log)
        assertVictimsUntouched()
    }

    func testRuntimeDirectoryOfAnotherUserIsRefused() throws {
        let state = base + "/state"
        mkdir(state, 0o700)
        chmod(state, 0o755)
        theirDirectory(state + "/run")
        try user.run(["ln", "-s", victim, state + "/run/status.json.tmp"])
        chmod(state, 0o700)
        let daemon = try runAsRoot(stateDirectory: state)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 78, daemon.log)
        XCTAssertTrue(daemon.log.contains("Refusing the runtime directory \(state)/run: \(state)/run belongs to user \(user.name)"), daemon.log)
        assertVictimsUntouched()
    }

    /// Links planted while the directories were loose, before the admin tightened them: the
    /// daemon starts, and every file it creates or replaces is its own, never the link's target.
    func testLinksLeftInASafeDirectoryAreNeverWrittenThrough() throws {
        let state = base + "/state"
        mkdir(state, 0o700)
        mkdir(state + "/run", 0o700)
        chmod(state, 0o777)
        chmod(state + "/run", 0o777)
        try plantLinks(in: state)
        try user.run(["ln", "-s", victim, state + "/run/status.json.tmp"])
        try user.run(["ln", "-s", victim, state + "/run/status.json"])
        chmod(state, 0o700)
        chmod(state + "/run", 0o700)

        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, stateDirectory: state)
        defer { harness.cleanUp() }
        harness.waitForReady()
        XCTAssertTrue(harness.daemon.waitForLog("is a symbolic link, which LightScope never follows", timeout: 5), harness.daemon.log)
        usleep(600_000)  // a few status refreshes (status_interval 200ms)
        var status = stat()
        XCTAssertEqual(lstat(state + "/run/status.json", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG, "status.json replaced the link")
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        XCTAssertEqual(lstat(state + "/runs.json", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFREG, "runs.json replaced the link")
        XCTAssertEqual(status.st_mode & 0o777, 0o640)
        assertVictimsUntouched()
    }
}
