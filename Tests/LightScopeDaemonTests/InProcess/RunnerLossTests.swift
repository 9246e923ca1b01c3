import Foundation
import LightScopeCore
@testable import LightScopeDaemon
import LightScopeStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Every event is stored or counted as lost, by reason, in one place (issue 17 items 8, 9).
final class RunnerLossTests: XCTestCase {
    /// More pending probes than the smallest budget holds: each one is an event in the store
    /// at the stop, or an eviction counted under `lost_events.eviction`; none goes uncounted.
    func testEveryProbeIsStoredOrCountedAsLost() throws {
        var detection = Settings.Detection()
        detection.memoryBudgetMiB = 4
        let capacity = DetectionCapacities(settings: detection).pendingProbes
        let probes = capacity + 3000
        let port = freeLoopbackPort()
        let harness = try RunnerHarness(config: "[watchdog]\nstatus_interval = 200ms\n[detection]\nmemory_budget_mib = 4\n[metrics]\nlisten = 127.0.0.1:\(port)\n")
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        let source = try XCTUnwrap(harness.interfaces.sources(on: "fake0").last)
        // One probe from each of many sources to one port: no scan, one unanswered event each.
        let frames = (0..<probes).map { index in
            RunnerHarness.syn(from: "10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255)", port: 7777)
        }
        source.inject(frames)
        // Every probe seen, and the loop has ticked since (the tick publishes the tables).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, let seen = harness.snapshot,
              seen.interfaces.first?.packets ?? 0 < UInt64(probes)
                || seen.detection.pendingProbes + seen.detection.probeEvictions < UInt64(probes) {
            usleep(50_000)
        }

        let snapshot = try XCTUnwrap(harness.snapshot)
        let evicted = try XCTUnwrap(snapshot.lostEvents["eviction"])
        // The IPv4 table holds its capacity less what the other tables of its pool (the IPv6
        // probes' first size) took; the rest were pushed out.
        XCTAssertGreaterThanOrEqual(evicted, UInt64(probes - capacity))
        XCTAssertLessThan(evicted, UInt64(probes - capacity) + 4096)
        XCTAssertEqual(snapshot.detection.pendingProbes + evicted, UInt64(probes), "every probe is pending or was pushed out")
        XCTAssertEqual(snapshot.detection.probeEvictions, evicted)
        XCTAssertEqual(Set(snapshot.lostEvents.keys), Set(EventLossReason.allCases.map(\.rawValue)), "every reason is shown, fleet included")
        let scrape = try XCTUnwrap(httpGet(port: port))
        XCTAssertTrue(scrape.contains("lightscope_events_lost_total{reason=\"eviction\"} \(evicted)\n"), scrape)
        XCTAssertTrue(scrape.contains("lightscope_events_lost_total{reason=\"queue\"} 0\n"), scrape)

        harness.signals.send(SIGTERM)
        XCTAssertEqual(harness.waitForExit(), 0)
        let stored = try EventStore(directory: harness.stateDirectory, readOnly: true).countsByVerdict(since: 0)[.unanswered] ?? 0
        XCTAssertEqual(UInt64(stored) + evicted, UInt64(probes), "stored \(stored), lost \(evicted), sent \(probes)")
    }
}
