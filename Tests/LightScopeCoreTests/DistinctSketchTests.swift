import Foundation
@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// The slow-scan sketch against exact counts: the error bound docs/detection.md ("Slow
/// scans") states, measured over many random inputs.
final class DistinctSketchTests: XCTestCase {
    /// The documented bound, for 20 to `largestThreshold` distinct values: a relative
    /// standard error of at most 9 %, and at least 99 % of estimates within 30 % of the count.
    static let standardErrorBound = 0.09
    static let wideErrorBound = 0.30
    static let withinWideBound = 0.99
    static let counts = [20, 35, 50, 75, 100, 150, DistinctSketch.largestThreshold]
    static let trials = 2000

    private func measure(_ name: String, count: Int, _ value: (inout SplitMix64) -> UInt64) -> (rms: Double, within: Double) {
        var random = SplitMix64(seed: UInt64(count) &* 7919)
        var squares = 0.0
        var within = 0
        for _ in 0..<Self.trials {
            var sketch = DistinctSketch()
            var seen = Set<UInt64>()
            while seen.count < count {
                let hash = value(&random)
                if seen.insert(hash).inserted { sketch.insert(hash: hash) }
                // A value seen twice changes nothing.
                if seen.count.isMultiple(of: 7) { sketch.insert(hash: hash) }
            }
            let error = Double(sketch.estimate - count) / Double(count)
            squares += error * error
            if abs(error) <= Self.wideErrorBound { within += 1 }
            XCTAssertLessThanOrEqual(sketch.estimate, DistinctSketch.largestEstimate(forDistinct: count), "\(name) \(count)")
        }
        let rms = (squares / Double(Self.trials)).squareRoot()
        let fraction = Double(within) / Double(Self.trials)
        print(String(format: "%@ %d distinct: relative standard error %.3f, %.4f within 30%%", name, count, rms, fraction))
        return (rms, fraction)
    }

    private func assertBound(_ name: String, _ value: @escaping (inout SplitMix64) -> UInt64) {
        for count in Self.counts {
            let (rms, within) = measure(name, count: count, value)
            XCTAssertLessThanOrEqual(rms, Self.standardErrorBound, "\(name), \(count) distinct")
            XCTAssertGreaterThanOrEqual(within, Self.withinWideBound, "\(name), \(count) distinct")
        }
    }

    func testRandomPortsAreCountedWithinTheDocumentedBound() {
        assertBound("ports") { DistinctSketch.hash(port: UInt16(truncatingIfNeeded: $0.next())) }
    }

    func testRandomIPv4AddressesAreCountedWithinTheDocumentedBound() {
        assertBound("IPv4 addresses") { DistinctSketch.hash(address: IPAddress(ipv4: UInt32(truncatingIfNeeded: $0.next()))) }
    }

    func testRandomIPv6AddressesAreCountedWithinTheDocumentedBound() {
        assertBound("IPv6 addresses") { DistinctSketch.hash(address: IPAddress(high: $0.next(), low: $0.next())) }
    }

    /// nmap's order: ports in a run, and addresses of one subnet in a run.
    func testRunsOfPortsAndAddressesAreCountedWithinTheDocumentedBound() {
        for count in Self.counts {
            var ports = DistinctSketch()
            var addresses = DistinctSketch()
            for index in 1...count {
                ports.insert(hash: DistinctSketch.hash(port: UInt16(index)))
                addresses.insert(hash: DistinctSketch.hash(address: IPAddress(ipv4: 0xC000_0200 | UInt32(index))))
            }
            for sketch in [ports, addresses] {
                XCTAssertLessThanOrEqual(abs(Double(sketch.estimate - count)) / Double(count), Self.wideErrorBound, "\(count)")
            }
        }
    }

    /// The one-sided guarantee: no set of values can lift the estimate past what its count of
    /// bits allows, so 41 distinct ports never make the default threshold of 50.
    func testTheDefaultThresholdNeedsAtLeast42DistinctValues() {
        XCTAssertEqual(DistinctSketch.fewestDistinct(toReach: Settings.Detection().slowscanPorts), 42)
        XCTAssertEqual(DistinctSketch.largestEstimate(forDistinct: 41), 49)
        XCTAssertEqual(DistinctSketch.estimate(setBits: 0), 0)
        XCTAssertEqual(DistinctSketch.estimate(setBits: 1), 1)
        var sketch = DistinctSketch()
        for port in UInt16(0)...UInt16.max { sketch.insert(hash: DistinctSketch.hash(port: port)) }
        XCTAssertEqual(sketch.setBits, DistinctSketch.bits, "every bit is reachable")
        XCTAssertGreaterThan(sketch.estimate, DistinctSketch.largestThreshold)
    }

    /// What the docs say of the default threshold: 50 random ports reach it about half the
    /// time, 55 nine times in ten, 60 more than 99 times in 100.
    func testHowManyPortsReachTheDefaultThreshold() {
        let threshold = Settings.Detection().slowscanPorts
        var random = SplitMix64(seed: 50)
        func reached(_ count: Int) -> Double {
            var hits = 0
            for _ in 0..<Self.trials {
                var sketch = DistinctSketch()
                var ports = Set<UInt16>()
                while ports.count < count { ports.insert(UInt16(truncatingIfNeeded: random.next())) }
                for port in ports { sketch.insert(hash: DistinctSketch.hash(port: port)) }
                if sketch.estimate >= threshold { hits += 1 }
            }
            return Double(hits) / Double(Self.trials)
        }
        let (fifty, fiftyFive, sixty) = (reached(50), reached(55), reached(60))
        print("the default threshold reached with 50, 55, 60 ports: \(fifty), \(fiftyFive), \(sixty)")
        XCTAssertEqual(fifty, 0.5, accuracy: 0.1)
        XCTAssertEqual(fiftyFive, 0.9, accuracy: 0.05)
        XCTAssertGreaterThan(sixty, 0.99)
    }

    /// The written-out mix of an IPv4 address's high word is the mix of 0, so an IPv4
    /// address sets the same bit as before.
    func testTheMixOfZeroIsWrittenOutRight() {
        XCTAssertEqual(DistinctSketch.mixOfZero, DistinctSketch.mix(0))
        let address = IPAddress("203.0.113.9")!
        XCTAssertEqual(DistinctSketch.hash(address: address), DistinctSketch.mix(address.low ^ DistinctSketch.mix(address.high)))
        let wide = IPAddress("2001:db8::9")!
        XCTAssertEqual(DistinctSketch.hash(address: wide), DistinctSketch.mix(wide.low ^ DistinctSketch.mix(wide.high)))
    }
}
