@testable import LightScopeCore
import XCTest

/// Random failures through a `ScanDetector` with its first-failure tier and through one that
/// counts every failure straight into the scan tables: the same scan events, in the same
/// order, with the same counts and times. Few sources (most fail again) and many (most
/// fail once), failures out of order (`unanswered` judged a timeout late beside `closed` at
/// once), timers' runs between them, one window or two, weighted ports, IPv6 mixed in.
final class FirstFailureEquivalenceTests: XCTestCase {
    let start: UInt64 = 1_764_000_000_000_000_000
    let millisecond: UInt64 = 1_000_000

    /// SplitMix64: the same sequence for a seed, on every platform.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    struct Shape {
        var sources: Int
        var apart: Bool
        var weighted: Bool
        /// The share of failures that are `closed` (at once) or judged after a random delay:
        /// the rest are `unanswered` judged a fixed timeout late, in order, as a flood's are.
        var outOfOrderPercent = 33
        /// The most time between two steps (a run or a failure).
        var stepMilliseconds = 300
        /// Whether an IPv4 source may fail at an IPv6 address (moving it to the wide tables,
        /// where the tier holds nothing while it stays), as a mapped address can.
        var crossFamily = true
        /// How late an out-of-order failure may be: beyond the shortest window, as an overdue
        /// probe's can (judged late for want of report allowance).
        var mostLateMilliseconds = 3000
        var slowWindowSeconds: Int64 = 40
    }

    private func settings(_ shape: Shape) -> Settings.Detection {
        var settings = Settings.Detection()
        settings.portscanPorts = shape.weighted ? 5 : 4
        settings.addrscanAddresses = 3
        settings.portscanWindow = .seconds(10)
        settings.addrscanWindow = .seconds(shape.apart ? 16 : 10)
        settings.slowscanPorts = 6
        settings.slowscanAddresses = 4
        settings.slowscanWindow = .seconds(shape.slowWindowSeconds)
        settings.portWeighting = shape.weighted ? .privileged : .uniform
        return settings
    }

    private func run(_ shape: Shape, seed: UInt64, steps: Int, scanSources: Int = 4096) -> (held: Int, events: Int) {
        let capacities = DetectionCapacities(pendingProbes: 16, recentConnections: 16, scanSources: scanSources)
        func detector(tier: Bool) -> ScanDetector {
            ScanDetector(interface: InterfaceName("eth0"), settings: settings(shape), budget: DetectionBudget(capacities: capacities),
                         holdsFirstFailures: tier)
        }
        var tiered = detector(tier: true)
        var plain = detector(tier: false)
        XCTAssertTrue(tiered.usesFirstFailures)
        var random = Random(state: seed)
        let locals = [IPAddress(ipv4: 0xC000_0201), IPAddress(ipv4: 0xC000_0202), IPAddress(ipv4: 0xC000_0203),
                      IPAddress(ipv4: 0xC000_0204), IPAddress(high: 0x2001_0db8_0000_0000, low: 0x10)]
        let ports: [UInt16] = [22, 80, 443, 3389, 5000, 8080, 8443, 9000, 1, 2, 3]
        var now = start
        var events: [UnwantedEvent] = []
        var expected: [UnwantedEvent] = []
        var mostHeld = 0
        for step in 0..<steps {
            now += UInt64(random.below(shape.stepMilliseconds)) * millisecond
            if random.below(8) == 0 {
                tiered.timersRan(atNanos: now)
                plain.timersRan(atNanos: now)
                continue
            }
            let index = random.below(shape.sources)
            let source = index % 17 == 16 ? IPAddress(high: 0x2001_0db8_0001_0000, low: UInt64(index))
                : IPAddress(ipv4: 0x0A00_0000 &+ UInt32(index))
            let destination = !source.isIPv4 || (shape.crossFamily && random.below(6) == 0) ? locals[random.below(locals.count)]
                : locals[random.below(locals.count - 1)]
            let port = ports[random.below(ports.count)]
            // A `closed` at once, or an `unanswered` judged a timeout (up to 3 s) after its time.
            let timeout = 3000 * millisecond
            let late = random.below(100) >= shape.outOfOrderPercent ? timeout
                : random.below(2) == 0 ? 0 : UInt64(random.below(shape.mostLateMilliseconds)) * millisecond
            let clock = now - late
            tiered.recordFailure(source: source, destination: destination, port: port, proto: .tcp, timeNanos: clock) {
                events.append($0)
            }
            plain.recordFailure(source: source, destination: destination, port: port, proto: .tcp, timeNanos: clock) {
                expected.append($0)
            }
            mostHeld = max(mostHeld, tiered.firstFailures.count)
            guard events == expected else {
                XCTFail("seed \(seed), \(shape), step \(step): \(events.suffix(2)) != \(expected.suffix(2))")
                return (mostHeld, events.count)
            }
        }
        XCTAssertEqual(tiered.counters, plain.counters)
        return (mostHeld, events.count)
    }

    /// Seeds per shape: a tenth under a sanitizer (scripts/test-sanitizers.sh sets
    /// LIGHTSCOPE_SANITIZER), where this single-threaded comparison runs ten times slower and
    /// what the sanitizer checks (memory, threads) does not depend on how many seeds run.
    private static func seeds(_ plain: UInt64) -> UInt64 {
        ProcessInfo.processInfo.environment["LIGHTSCOPE_SANITIZER"] == nil ? plain : max(plain / 10, 2)
    }

    func testFewSourcesFailingOftenMakeTheSameEvents() {
        var events = 0
        let seeds = Self.seeds(40)
        for seed: UInt64 in 1...seeds {
            for shape in [Shape(sources: 12, apart: false, weighted: false), Shape(sources: 40, apart: true, weighted: true),
                          Shape(sources: 30, apart: false, weighted: false, outOfOrderPercent: 0),
                          Shape(sources: 60, apart: true, weighted: false, outOfOrderPercent: 3),
                          Shape(sources: 20, apart: true, weighted: false, outOfOrderPercent: 30, mostLateMilliseconds: 15000,
                                slowWindowSeconds: 12),
                          Shape(sources: 25, apart: false, weighted: false, outOfOrderPercent: 10, stepMilliseconds: 600,
                                slowWindowSeconds: 11)] {
                events += run(shape, seed: seed, steps: 3000).events
            }
        }
        XCTAssertGreaterThan(events, 25 * Int(seeds))
    }

    func testManySourcesFailingOnceOrTwiceMakeTheSameEvents() {
        var held = 0
        var events = 0
        let seeds = Self.seeds(20)
        for seed: UInt64 in 1...seeds {
            for shape in [Shape(sources: 50_000, apart: false, weighted: false, outOfOrderPercent: 0, stepMilliseconds: 30, crossFamily: false),
                          Shape(sources: 600, apart: true, weighted: false, outOfOrderPercent: 1),
                          Shape(sources: 8000, apart: false, weighted: true, outOfOrderPercent: 5, stepMilliseconds: 30, crossFamily: false),
                          Shape(sources: 3000, apart: true, weighted: true, outOfOrderPercent: 33)] {
                let result = run(shape, seed: seed, steps: 6000)
                held = max(held, result.held)
                events += result.events
            }
        }
        XCTAssertGreaterThan(held, 500, "the tier held many sources at once")
        XCTAssertGreaterThan(events, 5 * Int(seeds))
    }
}
