import Foundation
import LightScopeTestSupport
import XCTest

/// The watchdog's promise: pings only while every loop makes progress.
/// WATCHDOG_USEC is 2 s here: a ping per second, stall limit 2 s.
final class WatchdogStallTests: XCTestCase {
    func testHungPacketLoopStopsPingsAndTriggersARestart() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, faultInjection: true)
        defer { harness.cleanUp() }
        harness.waitForReady()
        XCTAssertNotNil(harness.listener.wait(timeout: 3) { $0.has("WATCHDOG", "1") }.match)

        let hungAt = Date()
        harness.daemon.signal(SIGUSR1)
        let (messages, trigger) = harness.listener.wait(timeout: 6) { $0.has("WATCHDOG", "trigger") }
        let triggerMessage = try XCTUnwrap(trigger, "no WATCHDOG=trigger: \(messages)\n\(harness.daemon.log)")
        // Stall limit 2 s + the loop's wake-up (0.25 s) + the runner's tick, with slack for a busy machine.
        XCTAssertLessThan(triggerMessage.receivedAt.timeIntervalSince(hungAt), 4.5)
        XCTAssertTrue(triggerMessage.assignments["STATUS"]?.contains("packet loop \(lab.hostInterface)") ?? false, "\(triggerMessage)")
        // Pings had stopped before the trigger: at most one in flight right after the hang.
        let pingsAfterHang = messages.filter { $0.has("WATCHDOG", "1") && $0.receivedAt.timeIntervalSince(hungAt) > 1.5 }
        XCTAssertTrue(pingsAfterHang.isEmpty, "\(messages)")
        // And none after it.
        let later = harness.listener.collect(for: 2.5)
        XCTAssertFalse(later.contains { $0.has("WATCHDOG", "1") }, "\(later)")
        XCTAssertTrue(harness.daemon.log.contains("Watchdog: packet loop \(lab.hostInterface) has made no progress"), harness.daemon.log)
    }

    func testHungRunnerLoopStopsThePings() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, faultInjection: true)
        defer { harness.cleanUp() }
        harness.waitForReady()
        XCTAssertNotNil(harness.listener.wait(timeout: 3) { $0.has("WATCHDOG", "1") }.match)
        harness.daemon.signal(SIGUSR2)
        XCTAssertTrue(harness.daemon.waitForLog("the runner loop hangs now", timeout: 3))
        let after = harness.listener.collect(for: 4)
        XCTAssertFalse(after.contains { $0.has("WATCHDOG", "1") }, "a hung runner must not ping: \(after)")
        XCTAssertTrue(harness.daemon.isRunning, "it hangs, it does not exit: systemd's timeout handles it")
    }

    func testAnIdleInterfaceKeepsThePingsGoing() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        // WATCHDOG_USEC 1 s: a ping every 0.5 s, a stall limit of 1 s; no packets at all.
        let harness = try DaemonHarness(lab: lab, watchdogMicroseconds: 1_000_000)
        defer { harness.cleanUp() }
        harness.waitForReady()
        let messages = harness.listener.collect(for: 5)
        let pings = messages.filter { $0.has("WATCHDOG", "1") }
        XCTAssertGreaterThanOrEqual(pings.count, 8, "\(messages)")
        XCTAssertFalse(messages.contains { $0.has("WATCHDOG", "trigger") }, "\(messages)")
        XCTAssertFalse(harness.daemon.log.contains("withheld"), harness.daemon.log)
        // Longest gap between pings stays under the watchdog timeout.
        let gaps = zip(pings.dropFirst(), pings).map { $0.receivedAt.timeIntervalSince($1.receivedAt) }
        XCTAssertLessThan(gaps.max() ?? 0, 1.0, "\(gaps)")
    }

    func testSignalsHangNothingWithoutFaultInjection() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        harness.daemon.signal(SIGUSR1)
        harness.daemon.signal(SIGUSR2)
        XCTAssertTrue(harness.daemon.waitForLog("fault injection is off", timeout: 3), harness.daemon.log)
        let after = harness.listener.collect(for: 3.5)
        XCTAssertGreaterThanOrEqual(after.filter { $0.has("WATCHDOG", "1") }.count, 2, "\(after)")
        XCTAssertFalse(after.contains { $0.has("WATCHDOG", "trigger") })
    }
}
