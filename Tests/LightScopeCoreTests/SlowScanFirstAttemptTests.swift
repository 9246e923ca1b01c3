@testable import LightScopeCore
import XCTest

/// A new slow-scan source's record is made as its first attempt leaves it, without counting,
/// when no first attempt can cross a threshold (`SlowScanTracker.firstAttemptCrossesNothing`).
/// These hold the shortcut to the plain count: taken only where one set bit reaches neither
/// threshold, and leaving the record the count would (its bits, attempts and flags show in
/// what the second attempt crosses).
final class SlowScanFirstAttemptTests: XCTestCase {
    let start: UInt64 = 1_764_000_000_000_000_000
    let local = IPAddress(ipv4: 0xC000_0201)
    let other = IPAddress(ipv4: 0xC000_0202)
    let source = IPAddress(ipv4: 0x0A01_0203)

    private func tracker(ports: Int, addresses: Int) -> SlowScanTracker {
        var settings = Settings.Detection()
        settings.slowscanPorts = ports
        settings.slowscanAddresses = addresses
        let capacities = DetectionCapacities(pendingProbes: 16, recentConnections: 16, scanSources: 16)
        return SlowScanTracker(settings: settings, capacities: capacities, budget: DetectionBudget(capacities: capacities))
    }

    /// Two ports whose hashes pick different sketch bits.
    private func twoPortsOfDifferentBits() -> (UInt16, UInt16) {
        let first: UInt16 = 1000
        let bit = DistinctSketch.hash(port: first) >> 57
        let second = (first + 1...UInt16.max).first { DistinctSketch.hash(port: $0) >> 57 != bit }!
        return (first, second)
    }

    /// A threshold of 1 is reached by one set bit: the first attempt crosses it, so it must be counted.
    func testAThresholdOfOneIsCrossedByTheFirstAttempt() {
        var ports = tracker(ports: 1, addresses: 50)
        XCTAssertFalse(ports.firstAttemptCrossesNothing)
        let crossing = ports.record(source: source, destination: local, port: 22, nowNanos: start, scanReported: false)
        XCTAssertEqual(crossing, SlowScanTracker.Crossing(source: source, destination: local, destinationPort: nil, ports: 1,
                                                          addresses: nil, attempts: 1))
        var addresses = tracker(ports: 50, addresses: 1)
        XCTAssertFalse(addresses.firstAttemptCrossesNothing)
        let byAddress = addresses.record(source: source, destination: local, port: 22, nowNanos: start, scanReported: false)
        XCTAssertEqual(byAddress, SlowScanTracker.Crossing(source: source, destination: nil, destinationPort: 22, ports: nil,
                                                           addresses: 1, attempts: 1))
    }

    /// At thresholds of 2 the shortcut is taken, and the second attempt at a new port crosses
    /// with both attempts and both ports counted: the first one's record held its port bit,
    /// its address bit and one attempt.
    func testTheSecondAttemptCountsTheFirstOnesBits() {
        var slow = tracker(ports: 2, addresses: 2)
        XCTAssertTrue(slow.firstAttemptCrossesNothing)
        let (first, second) = twoPortsOfDifferentBits()
        XCTAssertNil(slow.record(source: source, destination: local, port: first, nowNanos: start, scanReported: false))
        let crossing = slow.record(source: source, destination: local, port: second, nowNanos: start + 1_000, scanReported: false)
        XCTAssertEqual(crossing, SlowScanTracker.Crossing(source: source, destination: local, destinationPort: nil, ports: 2,
                                                          addresses: nil, attempts: 2))
        // The address bit: a second address at the first port crosses the addresses' threshold
        // (if the two addresses' bits differ; they do for these two).
        XCTAssertNotEqual(DistinctSketch.hash(address: local) >> 57, DistinctSketch.hash(address: other) >> 57)
        var byAddress = tracker(ports: 2, addresses: 2)
        XCTAssertNil(byAddress.record(source: source, destination: local, port: first, nowNanos: start, scanReported: false))
        let crossed = byAddress.record(source: source, destination: other, port: first, nowNanos: start + 1_000, scanReported: false)
        XCTAssertEqual(crossed, SlowScanTracker.Crossing(source: source, destination: nil, destinationPort: first, ports: nil,
                                                         addresses: 2, attempts: 2))
    }

    /// A first attempt that made the source's fast scan marks the record: its slow scan is not reported.
    func testAFirstAttemptThatMadeAScanIsMarked() {
        var slow = tracker(ports: 2, addresses: 2)
        let (first, second) = twoPortsOfDifferentBits()
        XCTAssertNil(slow.record(source: source, destination: local, port: first, nowNanos: start, scanReported: true))
        XCTAssertNil(slow.record(source: source, destination: local, port: second, nowNanos: start + 1_000, scanReported: false))
    }
}
