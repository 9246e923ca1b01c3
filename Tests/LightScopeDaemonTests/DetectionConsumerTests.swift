@testable import LightScopeCore
@testable import LightScopeDaemon
import XCTest

/// The live pipeline's detection: its log of eviction episodes (issue 17, item 8).
final class DetectionConsumerTests: XCTestCase {
    let second: UInt64 = 1_000_000_000

    func testEvictionsAreLoggedOncePerEpisode() {
        var episodes = EvictionEpisodes()
        var state = DetectionState(pendingProbes: 10, recentConnections: 0, scanSources: 5, probeEvictions: 0,
                                   scanSourceEvictions: 0, connectionEvictions: 0, optionsNotKept: 0, tableBytes: 0)
        XCTAssertNil(episodes.check(state, monotonicNanos: 0, interface: "lab0", budgetMiB: 64))
        episodes.lost(LostProbe(timeNanos: 1, source: IPAddress("198.51.100.7")!, sourcePort: 1, destination: IPAddress("192.0.2.1")!,
                                destinationPort: 23, packets: 1))
        state.probeEvictions = 40
        state.scanSourceEvictions = 3
        let started = episodes.check(state, monotonicNanos: second, interface: "lab0", budgetMiB: 64)
        XCTAssertEqual(started?.0, .warning)
        XCTAssertTrue(started?.1.contains("40 probes lost") ?? false, started?.1 ?? "")
        XCTAssertTrue(started?.1.contains("198.51.100.7") ?? false, started?.1 ?? "")
        XCTAssertTrue(started?.1.contains("memory_budget_mib (now 64)") ?? false, started?.1 ?? "")
        // Still evicting, then quiet but not for long: nothing more to say.
        state.probeEvictions = 90
        XCTAssertNil(episodes.check(state, monotonicNanos: 2 * second, interface: "lab0", budgetMiB: 64))
        XCTAssertNil(episodes.check(state, monotonicNanos: 30 * second, interface: "lab0", budgetMiB: 64))
        let ended = episodes.check(state, monotonicNanos: 62 * second, interface: "lab0", budgetMiB: 64)
        XCTAssertEqual(ended?.0, .notice)
        XCTAssertTrue(ended?.1.contains("lost 90 probes and forgot 3 scan sources") ?? false, ended?.1 ?? "")
        XCTAssertNil(episodes.check(state, monotonicNanos: 70 * second, interface: "lab0", budgetMiB: 64))
    }
}
