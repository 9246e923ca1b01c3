import Foundation
import LightScopeCore
@testable import LightScopeDaemon
import XCTest

/// The fleet's part of status.json survives the file's snake_case keys: `lightscope status`
/// read "unreadable" when a field name did not round-trip (hostID -> host_id -> hostId).
final class FleetStatusFileTests: XCTestCase {
    func testSnapshotWithFleetRoundTripsThroughTheStatusFile() throws {
        let fleet = DaemonSnapshot.Fleet(collector: "203.0.113.10:5432", hostIdentifier: "6c1f3a52-9e44-4b0d-8a57-2cd17e903b64",
                                         hostName: "web1", connected: true, eventsPending: 12, oldestPendingAtNanos: 1_000,
                                         eventsShipped: 4567, lastShippedAtNanos: 2_000, problem: nil)
        let snapshot = DaemonSnapshot(
            version: "0.1.0", pid: 1, startedAtNanos: 1, updatedAtNanos: 2, status: "s", interfaces: [], loops: [],
            watchdog: DaemonSnapshot.Watchdog(timeoutNanos: nil, pingIntervalNanos: 1, stallLimitNanos: 2, pingsSent: 0,
                                              lastPingAtNanos: nil, stallsDetected: 0),
            events: DaemonSnapshot.Events(byVerdict: [:]),
            detection: DaemonSnapshot.Detection(pendingProbes: 0, scanSources: 0, evictions: 0, probeEvictions: 0, scanSourceEvictions: 0),
            store: nil, lostEvents: LostEvents().byReason,
            restarts: DaemonSnapshot.Restarts(byEnding: [:], lastRestartAtNanos: nil, lastReason: nil), fleet: fleet)
        let data = try StatusFile.encoder().encode(snapshot)
        XCTAssertEqual(try StatusFile.decoder().decode(DaemonSnapshot.self, from: data), snapshot)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"events_pending\""))
    }
}
