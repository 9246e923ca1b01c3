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
