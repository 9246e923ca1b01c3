@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// A new slow-scan source's record keeps its first attempt's target uncounted, and its
/// second attempt counts it (`SlowScanRecord.countFirstTarget`). Against the plain count
/// (every attempt counted as it comes), over random streams of attempts with windows that
/// end and a table that evicts: the same crossings, in the same order, and the same evictions.
final class SlowScanFirstTargetTests: XCTestCase {
    let start: UInt64 = 1_764_000_000_000_000_000

    private func tracker(ports: Int, addresses: Int, window: Duration, capacity: Int) -> SlowScanTracker {
        var settings = Settings.Detection()
        settings.slowscanPorts = ports
        settings.slowscanAddresses = addresses
        settings.slowscanWindow = window
        let capacities = DetectionCapacities(pendingProbes: 16, recentConnections: 16, scanSources: capacity)
        return SlowScanTracker(settings: settings, capacities: capacities, budget: DetectionBudget(capacities: capacities))
    }

    func testTheUncountedFirstTargetCountsAsThePlainCountDoes() {
        var crossings = 0
        for seed in UInt64(1)...40 {
            var random = SplitMix64(seed: seed)
            let ports = Int.random(in: 2...6, using: &random)
            let addresses = Int.random(in: 2...6, using: &random)
            let capacity = Int.random(in: 4...24, using: &random)
            var shortcut = tracker(ports: ports, addresses: addresses, window: .seconds(60), capacity: capacity)
            var plain = shortcut
            plain.firstAttemptCrossesNothing = false
            XCTAssertTrue(shortcut.firstAttemptCrossesNothing, "seed \(seed)")
            let sources = Int.random(in: 2...(3 * capacity), using: &random)
            var now = start
            for step in 0..<3000 {
                now += UInt64.random(in: 0...2_000_000_000, using: &random) + (step % 700 == 0 ? 61_000_000_000 : 0)
                let source = IPAddress(ipv4: 0x0A00_0000 | UInt32.random(in: 0..<UInt32(sources), using: &random))
                let destination = seed % 4 == 0 ? IPAddress(high: 0x2001_0db8_0000_0000, low: UInt64.random(in: 0..<12, using: &random))
                    : IPAddress(ipv4: 0xC000_0200 | UInt32.random(in: 0..<12, using: &random))
                let port = UInt16.random(in: 1...30, using: &random)
                let reported = Int.random(in: 0..<40, using: &random) == 0
                let one = shortcut.record(source: source, destination: destination, port: port, nowNanos: now, scanReported: reported)
                let other = plain.record(source: source, destination: destination, port: port, nowNanos: now, scanReported: reported)
                XCTAssertEqual(one, other, "seed \(seed) step \(step)")
                if one != nil { crossings += 1 }
                if step % 500 == 499 {
                    shortcut.expire(nowNanos: now)
                    plain.expire(nowNanos: now)
                }
            }
            XCTAssertEqual(shortcut.evictions, plain.evictions, "seed \(seed)")
            XCTAssertEqual(shortcut.trackedSources, plain.trackedSources, "seed \(seed)")
        }
        // The streams do cross: a test of nothing would pass too.
        XCTAssertGreaterThan(crossings, 500)
    }
}
