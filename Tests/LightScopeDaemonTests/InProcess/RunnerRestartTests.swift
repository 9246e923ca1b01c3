import Foundation
import LightScopeCore
@testable import LightScopeDaemon
import LightScopeStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A stalled loop under systemd's watchdog: before WATCHDOG=trigger (after which systemd
/// aborts the process), the loops that still work report their pending probes and the
/// writer commits them (issue 17 item 11).
final class RunnerRestartTests: XCTestCase {
    func testPendingProbesOfWorkingLoopsAreReportedBeforeTheTrigger() throws {
        // WatchdogSec 2 s: a ping a second, stall limit 2 s.
        let harness = try RunnerHarness(config: "[watchdog]\nstatus_interval = 200ms\n", interfaces: ["fake0", "fake1"])
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        let working = try XCTUnwrap(harness.interfaces.sources(on: "fake0").last)
        let stalling = try XCTUnwrap(harness.interfaces.sources(on: "fake1").last)
        defer { stalling.release() }
        working.inject((0..<100).map { RunnerHarness.syn(port: UInt16(1000 + $0)) })
        stalling.inject((0..<50).map { RunnerHarness.syn(port: UInt16(2000 + $0)) })
        let pendingDeadline = Date().addingTimeInterval(5)
        while (harness.snapshot?.detection.pendingProbes ?? 0) < 150, Date() < pendingDeadline { usleep(50_000) }
        XCTAssertEqual(harness.snapshot?.detection.pendingProbes, 150)

        stalling.hang()
        let log = harness.log
        let trigger = try XCTUnwrap(log.wait(for: "notify WATCHDOG=trigger", timeout: 8), "\(log.all)")
        XCTAssertTrue(log.all[trigger].contains("STATUS=Stalled: packet loop fake1 has made no progress"), log.all[trigger])
        let hung = try XCTUnwrap(log.index(of: "hung fake1"))
        let flushed = try XCTUnwrap(log.index(of: "close fake0", from: hung), "the working loop was stopped: \(log.all)")
        XCTAssertLessThan(flushed, trigger)
        XCTAssertNil(log.index(of: "close fake1"), "a stalled loop is not waited for")
        // The writer committed the working loop's probes before the trigger went out.
        let store = try EventStore(directory: harness.stateDirectory, readOnly: true)
        XCTAssertEqual(try store.countsByVerdict(since: 0)[.unanswered], 100)
        let snapshot = try XCTUnwrap(harness.snapshot)
        XCTAssertEqual(snapshot.lostEvents["interface"], 50, "the stalled loop's probes are counted lost")
        XCTAssertTrue(snapshot.loops.contains { $0.name == "packet loop fake1" && $0.stalled } || snapshot.status.hasPrefix("Stalled"), "\(snapshot.status)")
        usleep(1_200_000)
        XCTAssertNil(log.index(of: "notify WATCHDOG=1", from: trigger), "no ping after the trigger: \(log.all.suffix(5))")

        // No restart came: after its grace the daemon exits so that Restart= takes over.
        harness.clock.advance(by: Runner.restartRequestGrace + .seconds(1))
        XCTAssertEqual(harness.waitForExit(timeout: 5), ExitCode.failure.rawValue)
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.statusPath))
    }
}
