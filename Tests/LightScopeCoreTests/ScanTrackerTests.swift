@testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// The scan tracker's memory: a source is kept for its window, counted from the window's
/// first attempt, and forgetting it must never change a verdict.
final class ScanTrackerTests: XCTestCase {
    let second: UInt64 = 1_000_000_000
    let source = IPAddress(ipv4: 0x6440_0001)
    let host = IPAddress(ipv4: 0xC000_0201)

    func tracker(capacity: Int = 1000) -> ScanTracker {
        ScanTracker(portscanPorts: 3, addrscanAddresses: 2, window: .seconds(10), capacity: capacity)
    }

    func testASourceIsForgottenWhenItsWindowEndsNotAWindowAfterItsLastAttempt() {
        var scans = tracker()
        scans.record(source: source, destination: host, port: 1, nowNanos: 0) { _ in }
        scans.record(source: source, destination: host, port: 2, nowNanos: 9 * second) { _ in }
        scans.expire(nowNanos: 10 * second)
        XCTAssertEqual(scans.trackedSources, 1, "exactly one window after its start the window is still open")
        scans.expire(nowNanos: 10 * second + 1)
        XCTAssertEqual(scans.trackedSources, 0, "the window that started at 0 is over, though the last attempt was at 9 s")
        // The next attempt starts a new window: one port so far, no portscan.
        var crossings: [ScanTracker.Crossing] = []
        scans.record(source: source, destination: host, port: 3, nowNanos: 10 * second + 2) { crossings.append($0) }
        XCTAssertEqual(crossings, [])
    }

    func testANewWindowKeepsTheSourceUntilThatWindowEnds() {
        var scans = tracker()
        scans.record(source: source, destination: host, port: 1, nowNanos: 0) { _ in }
        scans.record(source: source, destination: host, port: 2, nowNanos: 11 * second) { _ in } // a new window
        scans.expire(nowNanos: 15 * second)
        XCTAssertEqual(scans.trackedSources, 1, "its window started at 11 s")
        scans.expire(nowNanos: 21 * second + 1)
        XCTAssertEqual(scans.trackedSources, 0)
    }

    func testForgettingChangesNoVerdict() {
        var generator = SplitMix64(seed: 11)
        var forgetting = tracker()
        var remembering = tracker()
        var forgettingCrossings: [ScanTracker.Crossing] = []
        var rememberingCrossings: [ScanTracker.Crossing] = []
        var now: UInt64 = 0
        for _ in 0..<20_000 {
            now += generator.next() % (4 * second)
            let value = generator.next()
            let source = IPAddress(ipv4: 0x6440_0000 | UInt32(value % 5))
            let destination = IPAddress(ipv4: 0xC000_0200 | UInt32(value >> 8 % 3))
            let port = UInt16(value >> 16 % 6)
            forgetting.expire(nowNanos: now)
            forgetting.record(source: source, destination: destination, port: port, nowNanos: now) { forgettingCrossings.append($0) }
            remembering.record(source: source, destination: destination, port: port, nowNanos: now) { rememberingCrossings.append($0) }
        }
        XCTAssertGreaterThan(rememberingCrossings.count, 100, "the sequence must cross the thresholds often to test anything")
        XCTAssertEqual(forgettingCrossings, rememberingCrossings)
        forgetting.expire(nowNanos: now + 10 * second + 1)
        XCTAssertEqual(forgetting.trackedSources, 0, "every window is over a window after the last attempt")
    }
    /// The tracker against the plain definition (each window's distinct targets in a list,
    /// the counts by filtering it), on sources of every shape: a port scan of one host, an
    /// address scan of one port, a port scan that strays to other hosts, an address scan
    /// that strays to other ports, and a mix. Ports 64 apart and hosts whose addresses
    /// differ only above the low six bits share the tracker's "seen" bits, so its shortcut
    /// for the scan shapes has to fall back to a look at the targets and get it right.
    func testCountsAsTheDefinitionSaysForEveryShapeOfScan() {
        assertCountsAsTheDefinitionSays(weighting: .uniform, ports: [1, 65, 129, 193, 2, 66, 130, 3, 4, 5])
    }

    /// The same, with ports weighed as scanlogd weighs them (`PortWeighting.privileged`):
    /// privileged and other ports mixed, the same "seen" bits shared (1024 + 1 is 1025).
    func testWeightedCountsAsTheDefinitionSaysForEveryShapeOfScan() {
        assertCountsAsTheDefinitionSays(weighting: .privileged, ports: [1, 65, 1025, 1089, 2, 8080, 130, 3, 4, 40000])
    }

    /// Many sources, most failing once, at thresholds low enough for a first attempt to cross
    /// (a port scan of one port, three for a privileged one under scanlogd's weights, an
    /// address scan of one address) and just above: a source's first attempt, which the
    /// tracker records without counting when it cannot cross, gives what the definition says.
    func testFirstAttemptsCountAsTheDefinitionSaysAtLowThresholds() {
        for weighting in [PortWeighting.uniform, .privileged] {
            for (portscanPorts, addrscanAddresses) in [(1, 1), (1, 3), (2, 1), (2, 2), (3, 2), (4, 2)] {
                let window: UInt64 = 10 * second
                var tracker = ScanTracker(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses,
                                          window: .nanoseconds(Int64(window)), capacity: 100_000, portWeighting: weighting)
                var reference = DefinedScans(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses, windowNanos: window,
                                             maximumTargets: tracker.maximumTargetsPerSource, weighting: weighting)
                var generator = SplitMix64(seed: UInt64(31 + portscanPorts * 7 + addrscanAddresses))
                var now: UInt64 = 0
                var found: [ScanTracker.Crossing] = []
                var defined: [ScanTracker.Crossing] = []
                for _ in 0..<5_000 {
                    now += generator.next() % (second / 100)
                    let source = IPAddress(ipv4: 0x0A00_0000 | UInt32(generator.next() % 3_000))
                    let destination = IPAddress(ipv4: 0xC000_0200 | UInt32(generator.next() % 4))
                    let port = UInt16(generator.next() % 2 == 0 ? generator.next() % 1024 : 1024 + generator.next() % 4)
                    tracker.record(source: source, destination: destination, port: port, nowNanos: now) { found.append($0) }
                    defined += reference.record(source: source, destination: destination, port: port, nowNanos: now)
                }
                XCTAssertGreaterThan(defined.count, 100, "\(weighting) \(portscanPorts)/\(addrscanAddresses): must cross to test anything")
                XCTAssertEqual(found.count, defined.count, "\(weighting) \(portscanPorts)/\(addrscanAddresses)")
                for (found, defined) in zip(found, defined) where found != defined {
                    XCTFail("\(weighting) \(portscanPorts)/\(addrscanAddresses): first difference: \(found), defined \(defined)")
                    break
                }
            }
        }
    }

    private func assertCountsAsTheDefinitionSays(weighting: PortWeighting, ports: [UInt16],
                                                 file: StaticString = #filePath, line: UInt = #line) {
        let portscanPorts = 6, addrscanAddresses = 5
        let window: UInt64 = 10 * second
        var tracker = ScanTracker(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses, window: .nanoseconds(Int64(window)),
                                  capacity: 1000, portWeighting: weighting)
        var reference = DefinedScans(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses, windowNanos: window,
                                     maximumTargets: tracker.maximumTargetsPerSource, weighting: weighting)
        let hosts: [IPAddress] = [0xC000_0201, 0xC000_0241, 0xC000_0281, 0xC000_02C1, 0xC000_0202, 0xC000_0242, 0xC000_0203]
            .map { IPAddress(ipv4: $0) } + [IPAddress(high: 0x2001_0DB8_0000_0000, low: 0x41), IPAddress(high: 0x2001_0DB8_0000_0000, low: 1)]
        var generator = SplitMix64(seed: 29)
        func pick<T>(_ values: [T]) -> T { values[Int(generator.next() % UInt64(values.count))] }
        var now: UInt64 = 0
        var trackerCrossings: [ScanTracker.Crossing] = []
        var definedCrossings: [ScanTracker.Crossing] = []
        for _ in 0..<50_000 {
            now += generator.next() % (second / 4)
            let shape = generator.next() % 5
            let source = IPAddress(ipv4: 0x6440_0000 | UInt32(shape))
            let strays = generator.next() % 8 == 0
            let (destination, port): (IPAddress, UInt16)
            switch shape {
            case 0: (destination, port) = (hosts[0], pick(ports))
            case 1: (destination, port) = (pick(hosts), 445)
            case 2: (destination, port) = (strays ? pick(hosts) : hosts[1], pick(ports))
            case 3: (destination, port) = (pick(hosts), strays ? pick(ports) : 23)
            default: (destination, port) = (pick(hosts), pick(ports))
            }
            tracker.record(source: source, destination: destination, port: port, nowNanos: now) { trackerCrossings.append($0) }
            definedCrossings += reference.record(source: source, destination: destination, port: port, nowNanos: now)
        }
        for verdict in [Verdict.portscan, .addrscan] {
            XCTAssertGreaterThan(definedCrossings.filter { $0.verdict == verdict }.count, 200, "the sequence must cross often to test anything",
                                 file: file, line: line)
        }
        XCTAssertEqual(trackerCrossings.count, definedCrossings.count, file: file, line: line)
        for (found, defined) in zip(trackerCrossings, definedCrossings) where found != defined {
            XCTFail("first difference: the tracker gave \(found), the definition \(defined)", file: file, line: line)
            break
        }
    }
}

/// Scan counting as the definition says it, with no shortcuts: the reference for
/// `ScanTracker` (which never forgets here: its capacity is not reached and it is not expired).
private struct DefinedScans {
    let portscanPorts: Int
    let addrscanAddresses: Int
    let windowNanos: UInt64
    let maximumTargets: Int
    var weighting: PortWeighting = .uniform

    struct Window {
        var startNanos: UInt64
        var attempts: UInt32 = 0
        var targets: [ScanTracker.Target] = []
        var reportedPortscan = false
        var reportedAddrscan = false
    }

    var windows: [IPAddress: Window] = [:]

    mutating func record(source: IPAddress, destination: IPAddress, port: UInt16, nowNanos: UInt64) -> [ScanTracker.Crossing] {
        var window = windows[source] ?? Window(startNanos: nowNanos)
        if nowNanos - window.startNanos > windowNanos { window = Window(startNanos: nowNanos) }
        window.attempts += 1
        defer { windows[source] = window }
        let target = ScanTracker.Target(address: destination, port: port)
        guard window.targets.count < maximumTargets, !window.targets.contains(target) else { return [] }
        window.targets.append(target)
        var crossings: [ScanTracker.Crossing] = []
        let hostTargets = window.targets.filter { $0.address == destination }
        let ports = hostTargets.count
        let weight = hostTargets.map { weighting.weight(of: $0.port) }.reduce(0, +)
        if !window.reportedPortscan && weight >= portscanPorts {
            window.reportedPortscan = true
            crossings.append(.init(verdict: .portscan, source: source, destination: destination, destinationPort: nil, count: ports,
                                   attempts: window.attempts))
        }
        let addresses = window.targets.filter { $0.port == port }.count
        if !window.reportedAddrscan && addresses >= addrscanAddresses {
            window.reportedAddrscan = true
            crossings.append(.init(verdict: .addrscan, source: source, destination: nil, destinationPort: port, count: addresses,
                                   attempts: window.attempts))
        }
        return crossings
    }
}
