import Foundation
import LightScopeTestSupport
import XCTest

final class SignalTests: XCTestCase {
    func testReloadSendsReloadingThenReadyAndKeepsThePid() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        let pid = harness.daemon.pid

        try harness.rewriteConfig("[watchdog]\nstatus_interval = 300ms\n[log]\nlevel = debug\n")
        harness.daemon.signal(SIGHUP)
        let (messages, ready) = harness.listener.wait(timeout: 5) { $0.has("READY", "1") }
        XCTAssertNotNil(ready, "\(messages)")
        let reloadingIndex = try XCTUnwrap(messages.firstIndex { $0.has("RELOADING", "1") }, "\(messages)")
        XCTAssertLessThan(reloadingIndex, messages.count - 1, "RELOADING=1 must come before READY=1")
        XCTAssertTrue(harness.daemon.log.contains("Configuration reloaded"), harness.daemon.log)
        XCTAssertTrue(harness.daemon.isRunning)
        XCTAssertEqual(harness.daemon.pid, pid)
    }

    func testABadConfigOnReloadIsRejectedAndTheOldOneStays() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        try harness.rewriteConfig("[watchdog]\nstatus_interval = often\n")
        harness.daemon.signal(SIGHUP)
        XCTAssertNotNil(harness.listener.wait(timeout: 5) { $0.has("READY", "1") }.match)
        XCTAssertTrue(harness.daemon.log.contains("Reload rejected, the previous configuration stays in force"), harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("line 2"), harness.daemon.log)
        // Still alive and pinging with the old settings.
        XCTAssertNotNil(harness.listener.wait(timeout: 3) { $0.has("WATCHDOG", "1") }.match)
        XCTAssertTrue(harness.daemon.isRunning)
    }

    /// What the unit's ExecReload= runs: `systemctl reload` fails when the new config is rejected.
    func testLightscopeReloadExitsWithTheOutcome() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        let pid = String(harness.daemon.pid)

        try harness.rewriteConfig("[watchdog]\nstatus_interval = 300ms\n")
        let applied = try runLightscope(["reload", "--pid", pid, "--state-dir", harness.stateDirectory])
        XCTAssertEqual(applied.status, 0, applied.output)
        XCTAssertTrue(applied.output.hasPrefix("Configuration reloaded (pid \(pid), reload 1)"), applied.output)

        try harness.rewriteConfig("[watchdog]\nstatus_interval = often\n")
        let rejected = try runLightscope(["reload", "--pid", pid, "--state-dir", harness.stateDirectory])
        XCTAssertEqual(rejected.status, 78, rejected.output)
        XCTAssertTrue(rejected.output.contains("Reload rejected, the previous configuration stays in force: invalid config"), rejected.output)
        XCTAssertTrue(rejected.output.contains("line 2"), rejected.output)
        XCTAssertTrue(harness.daemon.isRunning)
        XCTAssertNotNil(harness.listener.wait(timeout: 3) { $0.has("WATCHDOG", "1") }.match, "still pinging")
    }

    private func runLightscope(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonProcess.binaryPath)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["RUNTIME_DIRECTORY"] = nil
        environment["STATE_DIRECTORY"] = nil
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testSigtermSendsStoppingAndExitsZero() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        harness.daemon.signal(SIGTERM)
        let (messages, stopping) = harness.listener.wait(timeout: 5) { $0.has("STOPPING", "1") }
        XCTAssertNotNil(stopping, "\(messages)")
        XCTAssertFalse(messages.contains { $0.has("READY") })
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 5), 0, harness.daemon.log)
    }
}
