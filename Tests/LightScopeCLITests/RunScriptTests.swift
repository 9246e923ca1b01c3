import Foundation
import LightScopeTestSupport
import XCTest

/// scripts/run.sh, with its package installation, build and binary replaced by stubs in a copy
/// of the scripts directory: what it runs the daemon with, and the directory it prepares.
final class RunScriptTests: XCTestCase {
    private var root = ""
    private let developmentState = "/var/lib/lightscope-dev"
    private var createdDevelopmentState = false

    override func setUpWithError() throws {
        try requireRoot()
        createdDevelopmentState = !FileManager.default.fileExists(atPath: developmentState)
        root = NSTemporaryDirectory() + "lightscope-runsh-\(UUID().uuidString)"
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try FileManager.default.createDirectory(atPath: root + "/scripts", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/.build/release", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repository.path + "/scripts/run.sh", toPath: root + "/scripts/run.sh")
        for (path, text) in [("scripts/install-deps.sh", "#!/bin/sh\n"), ("scripts/env.sh", "PATH=\(root)/bin:$PATH\n"),
                             ("bin/swift", "#!/bin/sh\n"), (".build/release/lightscope", "#!/bin/sh\necho \"$@\"\n")] {
            try text.write(toFile: root + "/" + path, atomically: true, encoding: .utf8)
            chmod(root + "/" + path, 0o755)
        }
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
        if createdDevelopmentState { try? FileManager.default.removeItem(atPath: developmentState) }
    }

    func testTheDevelopmentRunUsesItsOwnRootOnlyStateDirectory() throws {
        let result = try shell([root + "/scripts/run.sh", "--interface", "eth0"])
        XCTAssertEqual(result.output, "run --state-dir /var/lib/lightscope-dev --interface eth0\n")
        var facts = stat()
        XCTAssertEqual(stat("/var/lib/lightscope-dev", &facts), 0)
        XCTAssertEqual(facts.st_uid, 0)
        XCTAssertEqual(facts.st_mode & 0o777, 0o700)
        XCTAssertFalse(result.output.contains("/var/lib/lightscope "))
    }

    /// The README's first command, exactly as written there.
    func testTheReadmeFirstCommandRunsTheDaemonInItsOwnState() throws {
        let result = try runDocumentedExample("first-run", in: root)
        XCTAssertTrue(result.output.contains("\nrun --state-dir /var/lib/lightscope-dev\n"), result.output)
    }

    func testAnExplicitStateDirectoryIsKept() throws {
        XCTAssertEqual(try shell([root + "/scripts/run.sh", "--state-dir", "/tmp/x"]).output, "run --state-dir /tmp/x\n")
        XCTAssertEqual(try shell([root + "/scripts/run.sh", "--state-dir=/tmp/y"]).output, "run --state-dir=/tmp/y\n")
    }
}
