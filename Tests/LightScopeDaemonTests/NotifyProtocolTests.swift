import Foundation
import LightScopeTestSupport
import XCTest

/// The whole sd_notify conversation of `lightscope run`, received on a real socket.
final class NotifyProtocolTests: XCTestCase {
    func testConversationOverAPathSocketInANamespace() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }

        let startup = harness.waitForReady()
        // EXTEND_TIMEOUT_USEC comes before the slow step (opening captures), READY after it.
        let extendIndex = startup.firstIndex { $0.has("EXTEND_TIMEOUT_USEC") }
        XCTAssertNotNil(extendIndex, "\(startup)")
        XCTAssertEqual(startup.filter { $0.has("READY") }.count, 1)
        XCTAssertTrue(harness.daemon.log.contains("Capturing on \(lab.hostInterface)"), "READY=1 before the capture opened:\n\(harness.daemon.log)")
        let ready = try XCTUnwrap(startup.last)
        XCTAssertTrue(ready.assignments["STATUS"]?.contains("interfaces \(lab.hostInterface)") ?? false, "\(ready)")

        // Then pings (WATCHDOG_USEC 2 s: one per second) and STATUS refreshes.
        let running = harness.listener.collect(for: 3.5)
        let pings = running.filter { $0.has("WATCHDOG", "1") }
        XCTAssertGreaterThanOrEqual(pings.count, 3, "\(running)")
        XCTAssertLessThanOrEqual(pings.count, 5, "pings must follow the interval, not flood: \(running)")
        XCTAssertTrue(running.contains { $0.assignments["STATUS"]?.hasPrefix("Processing packets: ") ?? false }, "\(running)")
        XCTAssertFalse(running.contains { $0.has("WATCHDOG", "trigger") })
        XCTAssertTrue(harness.daemon.log.contains("Sent watchdog notification to systemd"))

        harness.daemon.signal(SIGTERM)
        let (stopMessages, stopping) = harness.listener.wait(timeout: 5) { $0.has("STOPPING", "1") }
        XCTAssertNotNil(stopping, "\(stopMessages)")
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        XCTAssertTrue(harness.daemon.log.contains("Stopped cleanly"))
    }

    func testConversationOverAnAbstractSocket() throws {
        // Abstract names live in the network namespace, so this daemon runs in the test's
        // own namespace, on the loopback interface named explicitly.
        let loopback = try shell(["sh", "-c", "ip -o link show | awk -F': ' '/LOOPBACK/ {print $2; exit}'"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let harness = try DaemonHarness(lab: nil, listenerKind: .abstract, arguments: ["--interface", loopback])
        defer { harness.cleanUp() }
        XCTAssertTrue(harness.listener.address.hasPrefix("@"))
        harness.waitForReady()
        let (messages, ping) = harness.listener.wait(timeout: 3) { $0.has("WATCHDOG", "1") }
        XCTAssertNotNil(ping, "\(messages)")
        harness.daemon.signal(SIGINT)
        XCTAssertNotNil(harness.listener.wait(timeout: 5) { $0.has("STOPPING", "1") }.match)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
    }

    func testWithoutNotifySocketItRunsInATerminal() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let stateDirectory = NSTemporaryDirectory() + "lightscope-state-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let daemon = try DaemonProcess(arguments: ["run", "--config", "/dev/null", "--interface", lab.hostInterface, "--state-dir", stateDirectory],
                                       namespace: lab.host)
        XCTAssertTrue(daemon.waitForLog("started: systemd watchdog off", timeout: 10), daemon.log)
        XCTAssertTrue(daemon.log.contains("lightscope: info: "), "plain level names outside the journal")
        daemon.signal(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.log)
    }
}
