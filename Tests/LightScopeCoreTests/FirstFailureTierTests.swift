@testable import LightScopeCore
import XCTest

/// The first-failure tier (`FirstFailureTier`, ScanDetector+FirstFailures.swift): an IPv4
/// source's first failure is held apart from the scan tables, its second has the first
/// counted at its own time, and the scan events are those of counting every failure at once.
final class FirstFailureTierTests: XCTestCase {
    let start: UInt64 = 1_764_000_000_000_000_000
    let second: UInt64 = 1_000_000_000
    let local = IPAddress(ipv4: 0xC000_0201)
    let source = IPAddress(ipv4: 0x0A01_0203)

    private func settings() -> Settings.Detection {
        var settings = Settings.Detection()
        settings.portscanPorts = 3
        settings.portscanWindow = .seconds(10)
        settings.addrscanWindow = .seconds(10)
        return settings
    }

    private func detector(_ settings: Settings.Detection, tier: Bool = true, scanSources: Int = 1024) -> ScanDetector {
        let capacities = DetectionCapacities(pendingProbes: 16, recentConnections: 16, scanSources: scanSources)
        return ScanDetector(interface: InterfaceName("eth0"), settings: settings, budget: DetectionBudget(capacities: capacities),
                            holdsFirstFailures: tier)
    }

    private func fail(_ detector: inout ScanDetector, _ source: IPAddress, port: UInt16, at nanos: UInt64) -> [UnwantedEvent] {
        var events: [UnwantedEvent] = []
        detector.recordFailure(source: source, destination: local, port: port, proto: .tcp, timeNanos: nanos) { events.append($0) }
        return events
    }

    func testAFirstFailureIsHeldApartFromTheScanTables() {
        var scans = detector(settings())
        XCTAssertTrue(scans.usesFirstFailures)
        XCTAssertEqual(fail(&scans, source, port: 1, at: start), [])
        XCTAssertEqual(scans.firstFailures.count, 1)
        XCTAssertEqual(scans.tracker.trackedSources, 0)
        XCTAssertEqual(scans.slowScanSources, 0)
        XCTAssertEqual(scans.trackedSources, 1, "a held source is a tracked scan source")
    }

    func testTheSecondFailureCountsTheFirstAtItsOwnTime() {
        var scans = detector(settings())
        var plain = detector(settings(), tier: false)
        var events: [UnwantedEvent] = []
        var expected: [UnwantedEvent] = []
        for (index, port) in [UInt16(1), 2, 3].enumerated() {
            let nanos = start + UInt64(index) * 4 * second
            events += fail(&scans, source, port: port, at: nanos)
            expected += fail(&plain, source, port: port, at: nanos)
            if index == 1 {
                XCTAssertEqual(scans.firstFailures.count, 0, "the second failure takes the source out of the tier")
                XCTAssertEqual(scans.tracker.trackedSources, 1)
                XCTAssertEqual(scans.slowScanSources, 1)
            }
        }
        XCTAssertEqual(events.map(\.verdict), [.portscan])
        XCTAssertEqual(events.first?.packets, 3)
        XCTAssertEqual(events, expected)
        // The window started at the first failure: 8 s on it is still open, 11 s on it is not.
        XCTAssertEqual(fail(&scans, source, port: 4, at: start + 11 * second), fail(&plain, source, port: 4, at: start + 11 * second))
    }

    /// A timers' run a window after the first failure forgets its fast-scan record, not its
    /// slow one; a second failure whose time is before that run (an `unanswered` judged late)
    /// then starts a new fast window where the plain count does.
    func testATimersRunForgetsTheFirstFailureWhereTheTablesWould() {
        for runOffset: UInt64 in [9, 10, 11, 12] {
            var scans = detector(settings())
            var plain = detector(settings(), tier: false)
            var events: [UnwantedEvent] = []
            var expected: [UnwantedEvent] = []
            func both(port: UInt16, at nanos: UInt64) {
                events += fail(&scans, source, port: port, at: nanos)
                expected += fail(&plain, source, port: port, at: nanos)
            }
            both(port: 1, at: start)
            scans.timersRan(atNanos: start + runOffset * second + 1)
            plain.timersRan(atNanos: start + runOffset * second + 1)
            both(port: 2, at: start + 9 * second)
            both(port: 3, at: start + 9 * second + 1)
            both(port: 4, at: start + 9 * second + 2)
            XCTAssertEqual(events, expected, "run at \(runOffset) s")
            XCTAssertFalse(events.isEmpty)
        }
    }

    /// A failure earlier than held ones (a `closed` after later `unanswered` ones) has them
    /// counted first: their records would have stood before its own, and kept it from
    /// being forgotten while they stayed.
    func testAnEarlierFailureCountsTheLaterHeldOnesFirst() {
        var scans = detector(settings())
        XCTAssertEqual(fail(&scans, source, port: 1, at: start + 5 * second), [])
        XCTAssertEqual(fail(&scans, IPAddress(ipv4: 0x0A01_0204), port: 1, at: start + 6 * second), [])
        XCTAssertEqual(scans.firstFailures.count, 2)
        XCTAssertEqual(fail(&scans, IPAddress(ipv4: 0x0A01_0205), port: 1, at: start + 5 * second + 1), [])
        XCTAssertEqual(scans.firstFailures.count, 1, "the one at 5 s stays held, the one at 6 s is counted")
        XCTAssertEqual(scans.tracker.trackedSources, 2)
    }

    func testAFirstFailurePushedOutOfAFullTierIsCountedAsAnEviction() {
        var scans = detector(settings(), scanSources: 16)
        for index in 0..<20 {
            XCTAssertEqual(fail(&scans, IPAddress(ipv4: 0x0A00_0000 + UInt32(index)), port: 1, at: start + UInt64(index)), [])
        }
        XCTAssertEqual(scans.firstFailures.count, 16)
        XCTAssertEqual(scans.evictions, 4)
        XCTAssertEqual(scans.trackedSources, 16)
        XCTAssertEqual(scans.tracker.trackedSources, 0)
    }

    func testNoTierWhereAFirstFailureCanCrossAThreshold() {
        var weighted = settings()
        weighted.portWeighting = .privileged
        XCTAssertFalse(detector(weighted).usesFirstFailures, "a privileged port weighs 3: the threshold of 3 at once")
        weighted.portscanPorts = 4
        XCTAssertTrue(detector(weighted).usesFirstFailures)
    }

    func testAnIPv6SourceGoesStraightToTheScanTables() {
        var scans = detector(settings())
        let wide = IPAddress(high: 0x2001_0db8_0000_0000, low: 1)
        XCTAssertEqual(fail(&scans, wide, port: 1, at: start), [])
        XCTAssertEqual(scans.firstFailures.count, 0)
        XCTAssertEqual(scans.tracker.trackedSources, 1)
    }

    /// A failure whose time a timers' run has passed by a window is not held: its record,
    /// made after that run, would have stayed until the next, and counted a second failure.
    func testAFailureAlreadyPastAWindowIsNotHeld() {
        var scans = detector(settings())
        var plain = detector(settings(), tier: false)
        scans.timersRan(atNanos: start + 20 * second)
        plain.timersRan(atNanos: start + 20 * second)
        var events: [UnwantedEvent] = []
        var expected: [UnwantedEvent] = []
        for (index, port) in [UInt16(1), 2, 3].enumerated() {
            events += fail(&scans, source, port: port, at: start + (5 + UInt64(index)) * second)
            expected += fail(&plain, source, port: port, at: start + (5 + UInt64(index)) * second)
        }
        XCTAssertEqual(expected.map(\.verdict), [.portscan])
        XCTAssertEqual(events, expected)
    }

    /// A held failure counted because an earlier one came (not by its own second failure) has
    /// its slow-scan record written behind younger ones: it is forgotten at the run that would
    /// have forgotten it in its place, where those younger ones would keep it.
    func testASettledFirstFailureIsForgottenByTheSlowScansInItsTurn() {
        var slow = settings()
        slow.portscanPorts = 50
        slow.addrscanAddresses = 50
        slow.slowscanPorts = 3
        slow.slowscanWindow = .seconds(12)
        var ports: [UInt16] = []
        var bits: Set<UInt64> = []
        for port in UInt16(1000)... where bits.insert(DistinctSketch.hash(port: port) >> 57).inserted {
            ports.append(port)
            if ports.count == 3 { break }
        }
        XCTAssertEqual(SlowScanTracker.setBitsNeeded(toReach: 3), 3)
        var scans = detector(slow)
        var plain = detector(slow, tier: false)
        var events: [UnwantedEvent] = []
        var expected: [UnwantedEvent] = []
        let millisecond = second / 1000
        func both(_ failing: IPAddress, port: UInt16, at nanos: UInt64) {
            events += fail(&scans, failing, port: port, at: nanos)
            expected += fail(&plain, failing, port: port, at: nanos)
        }
        let known = IPAddress(ipv4: 0x0A01_0300)
        both(known, port: 1, at: start + 99 * second)
        both(known, port: 2, at: start + 99 * second + 500 * millisecond)
        both(source, port: ports[0], at: start + 100 * second)
        XCTAssertEqual(scans.firstFailures.count, 1)
        both(known, port: 3, at: start + 101 * second)
        // Earlier than the held one: that one is counted, behind `known`'s record at 101 s.
        both(IPAddress(ipv4: 0x0A01_0301), port: 1, at: start + 99 * second + 800 * millisecond)
        XCTAssertEqual(scans.firstFailures.count, 0)
        // The slow scans' cutoff is at 100.5 s: the record at 100 s goes, the one at 101 s stays.
        scans.timersRan(atNanos: start + 112 * second + 500 * millisecond)
        plain.timersRan(atNanos: start + 112 * second + 500 * millisecond)
        XCTAssertFalse(scans.slowscans.tracks(source))
        XCTAssertFalse(plain.slowscans.tracks(source))
        XCTAssertTrue(plain.slowscans.tracks(known))
        // Had it stayed, these two would have counted into its window (12 whole seconds on) and crossed.
        both(source, port: ports[1], at: start + 112 * second + 100 * millisecond)
        both(source, port: ports[2], at: start + 112 * second + 200 * millisecond)
        XCTAssertEqual(events, expected)
    }

    /// `closed` failures, each held and taken back by an earlier `unanswered`, write a late
    /// slow-scan record each, remembered for the slow scans' whole window: the list keeps
    /// only those still as written, not one for every failure of the day.
    func testTheLateRecordsListStaysWithinTwiceTheTable() {
        var scans = detector(settings(), scanSources: 16)
        var time = start
        for index in 0..<6000 {
            time += second
            _ = fail(&scans, IPAddress(ipv4: 0x0A00_0000 + 2 * UInt32(index)), port: 1, at: time)
            _ = fail(&scans, IPAddress(ipv4: 0x0A00_0001 + 2 * UInt32(index)), port: 1, at: time - second / 2)
        }
        XCTAssertEqual(scans.firstFailures.count, 0)
        XCTAssertLessThanOrEqual(scans.replayedSlow.count, scans.replayedSlow.mostEntries)
        XCTAssertLessThanOrEqual(scans.replayedFast.count, scans.replayedFast.mostEntries)
    }
}
