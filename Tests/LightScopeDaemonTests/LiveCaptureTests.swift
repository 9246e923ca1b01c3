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
}
