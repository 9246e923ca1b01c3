import Foundation
import LightScopeTestSupport
import XCTest

/// Real packets on a veth pair between two namespaces the test creates.
final class LiveCaptureTests: XCTestCase {
    private func seenCount(_ message: NotifyMessage) -> Int? {
        guard let status = message.assignments["STATUS"], status.hasPrefix("Processing packets: ") else { return nil }
        return Int(status.dropFirst("Processing packets: ".count).prefix { $0.isNumber })
    }

    func testProbesSentToTheHostAreCounted() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab)
        defer { harness.cleanUp() }
        harness.waitForReady()
        let ports = Array(20_001...20_020)
        try lab.probeHostTCP(ports: ports)
        try lab.probeHostTCP(ports: [20_021, 20_022], address: lab.hostIPv6)
        // 22 SYNs in, 22 RSTs out.
        let (messages, enough) = harness.listener.wait(timeout: 5) { (self.seenCount($0) ?? 0) >= 44 }
        XCTAssertNotNil(enough, "\(messages.suffix(3))")
        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0)
    }

    func testAVanishedInterfaceIsReopenedWhenItReturns() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[capture]\ninterface_rescan_interval = 300ms\n[watchdog]\nstatus_interval = 200ms\n")
        defer { harness.cleanUp() }
        harness.waitForReady()
        let pid = harness.daemon.pid

        try lab.deleteVeth()
        let (gone, waiting) = harness.listener.wait(timeout: 5) { $0.assignments["STATUS"]?.contains("waiting for \(lab.hostInterface)") ?? false }
        XCTAssertNotNil(waiting, "\(gone.suffix(3))\n\(harness.daemon.log)")
        XCTAssertTrue(harness.daemon.log.contains("Interface \(lab.hostInterface)"), harness.daemon.log)
        // Pings go on while it waits: a missing interface is not a hang.
        XCTAssertNotNil(harness.listener.wait(timeout: 3) { $0.has("WATCHDOG", "1") }.match)

        try lab.addVeth()
        let (back, capturing) = harness.listener.wait(timeout: 5) {
            guard let status = $0.assignments["STATUS"] else { return false }
            return status.contains("interfaces \(lab.hostInterface)") && !status.contains("waiting")
        }
        XCTAssertNotNil(capturing, "\(back.suffix(3))\n\(harness.daemon.log)")
        try lab.probeHostTCP(ports: [30_001, 30_002, 30_003])
        XCTAssertNotNil(harness.listener.wait(timeout: 5) { (self.seenCount($0) ?? 0) >= 6 }.match, harness.daemon.log)
        XCTAssertEqual(harness.daemon.pid, pid)
        XCTAssertFalse(harness.listener.collect(for: 0.5).contains { $0.has("WATCHDOG", "trigger") })
    }

    func testStartsWithNoInterfaceAndCapturesWhenOneAppears() throws {
        let lab = try NamespaceLab(withVeth: false)
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[capture]\ninterface_rescan_interval = 300ms\n[watchdog]\nstatus_interval = 200ms\n",
                                        arguments: [])
        defer { harness.cleanUp() }
        let startup = harness.waitForReady()
        XCTAssertTrue(startup.last?.assignments["STATUS"]?.contains("waiting for an up, non-loopback interface") ?? false, "\(startup)")
        try lab.addVeth()
        let (messages, capturing) = harness.listener.wait(timeout: 5) { $0.assignments["STATUS"]?.contains("interfaces \(lab.hostInterface)") ?? false }
        XCTAssertNotNil(capturing, "\(messages.suffix(3))\n\(harness.daemon.log)")
    }

    /// Three removals and returns in a row: each time STATUS= says what it waits for, the
    /// watchdog keeps being pinged in time, capture resumes by itself, and the process is
    /// the same one throughout: no WATCHDOG=trigger, no restart, no reopen storm in the log.
    func testRepeatedRemovalAndReturnNeitherStallsNorStorms() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let watchdogMicroseconds = 2_000_000
        let harness = try DaemonHarness(lab: lab, watchdogMicroseconds: watchdogMicroseconds,
                                        config: "[capture]\ninterface_rescan_interval = 300ms\n[watchdog]\nstatus_interval = 200ms\n")
        defer { harness.cleanUp() }
        let recorder = NotifyRecorder(harness.listener)
        defer { recorder.stop() }
        XCTAssertNotNil(recorder.wait(timeout: 10) { $0.has("READY", "1") }, harness.daemon.log)
        let pid = harness.daemon.pid
        let cycles = 3
        var seenBefore = 0
        for cycle in 1...cycles {
            try lab.deleteVeth()
            var from = recorder.messages.count
            XCTAssertNotNil(recorder.wait(after: from, timeout: 5) { $0.assignments["STATUS"]?.contains("waiting for \(lab.hostInterface)") ?? false },
                            "cycle \(cycle): \(recorder.lastStatus ?? "no status")\n\(harness.daemon.log)")
            // Gone for longer than WatchdogSec: a missing interface must not look like a hang.
            usleep(UInt32(watchdogMicroseconds) + 500_000)
            try lab.addVeth()
            from = recorder.messages.count
            XCTAssertNotNil(recorder.wait(after: from, timeout: 5) {
                guard let status = $0.assignments["STATUS"] else { return false }
                return status.contains("interfaces \(lab.hostInterface)") && !status.contains("waiting")
            }, "cycle \(cycle): \(recorder.lastStatus ?? "no status")\n\(harness.daemon.log)")
            try lab.probeHostTCP(ports: [31_000 + cycle])
            XCTAssertNotNil(recorder.wait(after: from, timeout: 5) {
                ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.seen ?? 0) >= UInt64(seenBefore + 2)
            }, "cycle \(cycle): the probe was not counted; \(recorder.lastStatus ?? "no status")")
            seenBefore = Int(recorder.lastStatus.flatMap(StatusFigures.init)?.seen ?? 0)
        }
        XCTAssertTrue(harness.daemon.isRunning)
        XCTAssertEqual(harness.daemon.pid, pid)
        let messages = recorder.messages
        XCTAssertFalse(messages.contains { $0.has("WATCHDOG", "trigger") }, "\(messages.filter { $0.has("WATCHDOG") })")
        let pings = messages.filter { $0.has("WATCHDOG", "1") }.map(\.receivedAt)
        let longestGap = zip(pings, pings.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? .infinity
        XCTAssertLessThan(longestGap, Double(watchdogMicroseconds) / 1e6, "\(pings.count) pings")
        let log = harness.daemon.log
        XCTAssertEqual(log.components(separatedBy: "Capturing on \(lab.hostInterface)").count - 1, cycles + 1, log)
        let absences = log.components(separatedBy: "Interface \(lab.hostInterface) ").count - 1
        XCTAssertEqual(absences, cycles, "one line per removal, not one per rescan:\n\(log)")
        let failedOpens = log.components(separatedBy: "Cannot capture on").count - 1
        XCTAssertLessThanOrEqual(failedOpens, cycles, "at most one failed reopen logged per return:\n\(log)")
    }
}
