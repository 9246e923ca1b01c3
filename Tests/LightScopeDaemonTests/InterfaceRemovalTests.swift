import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// Pending probes must not vanish with their interface (issue 17 item 7): real SYNs from the
/// peer namespace, never answered, then the veth is deleted under the running daemon.
final class InterfaceRemovalTests: XCTestCase {
    func testPendingProbesAreReportedWhenTheirInterfaceDisappears() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let harness = try DaemonHarness(lab: lab, config: "[capture]\ninterface_rescan_interval = 300ms\n[watchdog]\nstatus_interval = 200ms\n")
        defer { harness.cleanUp() }
        harness.waitForReady()

        // Bad checksums: the host's kernel drops them unanswered, so each stays a pending probe
        // (the answer timeout is 10 s). hping3 moves the source port on with every SYN.
        let probes = 500
        try lab.run(in: lab.peer, ["hping3", "-q", "-S", "-b", "-c", String(probes), "-i", "u1000", "-p", "7777", lab.hostIPv4],
                    allowFailure: true)
        let pendingDeadline = Date().addingTimeInterval(5)
        var pending: UInt64 = 0
        while pending < UInt64(probes), Date() < pendingDeadline {
            usleep(100_000)
            pending = snapshot(harness)?.detection.pendingProbes ?? 0
        }
        XCTAssertEqual(pending, UInt64(probes), harness.daemon.log)

        try lab.deleteVeth()
        // Reported with the loop's end, while the daemon runs on (not at its stop).
        let reportedDeadline = Date().addingTimeInterval(5)
        var reported = 0
        while reported < probes, Date() < reportedDeadline {
            usleep(100_000)
            reported = unansweredEvents(harness)
        }
        XCTAssertEqual(reported, probes, harness.daemon.log)
        XCTAssertTrue(harness.daemon.isRunning)

        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        XCTAssertEqual(unansweredEvents(harness), probes, "each reported once")
    }

    private func unansweredEvents(_ harness: DaemonHarness) -> Int {
        let store = try? EventStore(directory: harness.stateDirectory, readOnly: true)
        return (try? store?.countsByVerdict(since: 0)[.unanswered]) ?? 0
    }

    private func snapshot(_ harness: DaemonHarness) -> DaemonSnapshot? {
        guard let data = FileManager.default.contents(atPath: harness.stateDirectory + "/run/" + RuntimeDirectory.statusFileName) else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try? decoder.decode(DaemonSnapshot.self, from: data)
    }
}
