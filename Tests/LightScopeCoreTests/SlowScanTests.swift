import Foundation
@testable import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Slow scans through the engine: failed attempts spread over hours, each one too few for a
/// `portscan` in its five minutes, add up to a `slowscan` in the day's window.
final class SlowScanTests: EngineTestCase {
    let minute: UInt64 = 60_000_000_000
    let start: UInt64 = 1_764_000_000_000_000_000

    /// A SYN to `port` of `destination`, answered at once by the host's RST: a `closed` attempt.
    private func refused(_ engine: DetectionEngine, from source: IPAddress, to destination: IPAddress, port: UInt16,
                         sourcePort: UInt16 = 40000, at time: UInt64) {
        feed(engine, tcp(source, sourcePort, destination, port, .syn), at: time)
        feed(engine, tcp(destination, port, source, sourcePort, [.rst, .ack]), at: time + 1000)
    }

    private func events(_ verdict: Verdict) -> [UnwantedEvent] { events.filter { $0.verdict == verdict } }

    func testOneProbeEveryThreeMinutesForSixHoursIsOneSlowScan() {
        let engine = makeEngine()
        for index in 0..<120 {
            refused(engine, from: remote, to: local, port: UInt16(1000 + index * 7), at: start + UInt64(index) * 3 * minute)
        }
        XCTAssertEqual(events(.closed).count, 120)
        XCTAssertEqual(events(.portscan).count, 0, "never 15 ports in five minutes")
        let slow = events(.slowscan)
        XCTAssertEqual(slow.count, 1, "once in the window, not at every probe after")
        guard let event = slow.first else { return }
        XCTAssertEqual(event.source, remote)
        XCTAssertEqual(event.destination, local)
        XCTAssertNil(event.destinationPort)
        XCTAssertNil(event.addresses)
        let ports = try? XCTUnwrap(event.ports)
        XCTAssertGreaterThanOrEqual(ports ?? 0, Settings.Detection().slowscanPorts)
        // Reported at the attempt that crossed: at least 42 distinct ports in (the sketch's floor).
        XCTAssertGreaterThanOrEqual(event.packets, 42)
        XCTAssertLessThanOrEqual(event.packets, 70)
        XCTAssertEqual(event.timeNanos, start + UInt64(event.packets - 1) * 3 * minute)
        XCTAssertEqual(engine.counters.eventsByVerdict[.slowscan], 1)
    }

    /// The same over IPv6: the record is one size for both families.
    func testAnIPv6SlowScanIsReported() {
        let host = IPAddress("2001:db8::1")!
        let scanner = IPAddress("2001:db8:ffff::7")!
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(), localAddresses: LocalAddresses(addresses: [host]))
        for index in 0..<90 { refused(engine, from: scanner, to: host, port: UInt16(1 + index), at: start + UInt64(index) * 4 * minute) }
        XCTAssertEqual(events(.slowscan).map(\.source), [scanner])
        XCTAssertEqual(events(.slowscan).first?.destination, host)
        XCTAssertEqual(events(.portscan).count, 0)
    }

    /// UDP, from the bytes: each probe seen through the host's ICMP port unreachable.
    func testAUDPSlowScanFromItsICMPErrorsIsReported() throws {
        let p = PacketBuilder.self
        let engine = makeEngine()
        for index in 0..<80 {
            let probe = p.ipv4("198.51.100.7", "192.0.2.1", ttl: 50, protocolNumber: 17, p.udp(40000, UInt16(100 + index)))
            let error = p.ethernet(p.etherTypeIPv4, p.ipv4("192.0.2.1", "198.51.100.7", protocolNumber: 1,
                                                           p.icmpUnreachable(code: 3, quoting: probe)))
            let packet = try error.withUnsafeBytes { bytes throws(DecodeRejection) in try PacketDecoder.decode(bytes, linkType: LinkType.ethernet) }
            feed(engine, packet, at: start + UInt64(index) * 5 * minute)
        }
        XCTAssertEqual(events(.closed).count, 80)
        XCTAssertEqual(events(.slowscan).map(\.proto), [.udp])
        XCTAssertEqual(events(.portscan).count, 0)
    }

    /// One port on many local addresses, one a quarter of an hour: an address scan, slowly.
    func testOnePortOnManyAddressesSlowlyIsASlowScanOfAddresses() {
        let addresses = (1...80).map { IPAddress(ipv4: 0xC000_0200 | UInt32($0)) }
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: Set(addresses)))
        for (index, address) in addresses.enumerated() {
            refused(engine, from: remote, to: address, port: 23, at: start + UInt64(index) * 15 * minute)
        }
        XCTAssertEqual(events(.addrscan).count, 0)
        let slow = events(.slowscan)
        XCTAssertEqual(slow.count, 1)
        XCTAssertEqual(slow.first?.destinationPort, 23)
        XCTAssertNil(slow.first?.destination)
        XCTAssertNil(slow.first?.ports)
        XCTAssertGreaterThanOrEqual(slow.first?.addresses ?? 0, 50)
    }

    /// The day's background: hundreds of sources, each trying a few well-known ports a few
    /// times over the day. Many attempts in all, but no source reaches the threshold.
    func testBackgroundSourcesMakeNoSlowScan() {
        let engine = makeEngine()
        let wellKnown: [UInt16] = [22, 23, 25, 80, 443, 445, 1433, 3306, 3389, 5900, 8080, 8443]
        var time = start
        for round in 0..<6 {
            for sourceIndex in 0..<300 {
                let source = IPAddress(ipv4: 0xCB00_7100 &+ UInt32(sourceIndex))
                let port = wellKnown[(sourceIndex + round) % wellKnown.count]
                time += 800_000_000
                refused(engine, from: source, to: local, port: port, sourcePort: UInt16(30000 + round), at: time)
            }
            time += 3 * 60 * minute
        }
        XCTAssertEqual(events(.closed).count, 1800)
        XCTAssertEqual(events(.slowscan).count, 0)
        XCTAssertEqual(engine.state.slowScanSources, 300)
    }

    /// A fast scan is a `portscan`; the same source going on over the day is not reported
    /// again as a slow one.
    func testAFastScanIsNotReportedAgainAsSlow() {
        let engine = makeEngine()
        for index in 0..<30 { refused(engine, from: remote, to: local, port: UInt16(100 + index), at: start + UInt64(index) * second) }
        for index in 0..<100 {
            refused(engine, from: remote, to: local, port: UInt16(2000 + index), at: start + 10 * minute + UInt64(index) * 5 * minute)
        }
        XCTAssertEqual(events(.portscan).count, 1)
        XCTAssertEqual(events(.slowscan).count, 0)
    }

    /// After the window, a new one starts and may be reported again; within it, never twice.
    func testEachWindowReportsOnce() {
        let engine = makeEngine {
            $0.slowscanWindow = .seconds(3600)
            $0.slowscanPorts = 10
        }
        for index in 0..<60 {
            refused(engine, from: remote, to: local, port: UInt16(3000 + index), at: start + UInt64(index) * 2 * minute)
        }
        let slow = events(.slowscan)
        XCTAssertEqual(slow.count, 2, "one per hour's window: \(slow.map(\.timeNanos))")
        XCTAssertEqual(events(.portscan).count, 0)
        if slow.count == 2 { XCTAssertGreaterThan(slow[1].timeNanos - slow[0].timeNanos, 30 * minute) }
    }

    /// A window that is over is forgotten when the timers run.
    func testSourcesAreForgottenAfterTheirWindow() {
        let engine = makeEngine { $0.slowscanWindow = .seconds(600) }
        // Twice: a source's first failure alone is held apart (`FirstFailureTier`).
        refused(engine, from: remote, to: local, port: 80, at: start)
        refused(engine, from: remote, to: local, port: 81, at: start + second)
        XCTAssertEqual(engine.state.slowScanSources, 1)
        engine.advance(toNanos: start + 11 * minute) { events.append($0) }
        XCTAssertEqual(engine.state.slowScanSources, 0)
    }

    /// A full table evicts its oldest source, counted with the other evictions.
    func testAFullTableEvictsAndCounts() {
        let capacities = DetectionCapacities(pendingProbes: 4096, recentConnections: 64, scanSources: 16)
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]), capacities: capacities)
        for index in 0..<100 {
            // Twice each: a source's first failure alone is held apart (`FirstFailureTier`).
            for port: UInt16 in [22, 23] {
                refused(engine, from: IPAddress(ipv4: 0x0A00_0000 | UInt32(index)), to: local, port: port,
                        at: start + UInt64(index) * second + UInt64(port))
            }
        }
        let state = engine.state
        XCTAssertLessThanOrEqual(state.slowScanSources, 16 + DetectionBudget.initialEntries)
        XCTAssertEqual(UInt64(state.slowScanSources) + state.slowScanEvictions, 100)
        XCTAssertGreaterThan(state.slowScanEvictions, 0)
        XCTAssertEqual(state.evictions, state.probeEvictions + state.scanSourceEvictions + state.connectionEvictions
            + state.slowScanEvictions)
    }

    /// A full table evicts the source that failed least recently: a slow scanner going on
    /// probing stays, however many one-off sources pass by between its probes.
    func testAFullTableKeepsTheScannerThatGoesOn() {
        let capacities = DetectionCapacities(pendingProbes: 4096, recentConnections: 64, scanSources: 16)
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]), capacities: capacities)
        var oneOff: UInt32 = 0
        for index in 0..<80 {
            let time = start + UInt64(index) * minute
            refused(engine, from: remote, to: local, port: UInt16(5000 + index), at: time)
            for offset in 1...5 {
                oneOff += 1
                // Twice each (a first failure alone never reaches the table: `FirstFailureTier`).
                refused(engine, from: IPAddress(ipv4: 0x0A00_0000 | oneOff), to: local, port: 22, at: time + UInt64(offset) * second)
                refused(engine, from: IPAddress(ipv4: 0x0A00_0000 | oneOff), to: local, port: 23,
                        at: time + UInt64(offset) * second + 1000)
            }
        }
        XCTAssertGreaterThan(engine.state.slowScanEvictions, 300, "the one-off sources went")
        XCTAssertEqual(events(.slowscan).map(\.source), [remote], "the scanner stayed")
    }

    /// The thresholds are checked on the sketches' set bits: for every threshold a config
    /// may set, the bits needed are exactly where the estimate first reaches it.
    func testTheBitsNeededMatchTheEstimates() {
        for threshold in 1...DistinctSketch.largestThreshold {
            let needed = SlowScanTracker.setBitsNeeded(toReach: threshold)
            XCTAssertGreaterThanOrEqual(DistinctSketch.estimate(setBits: needed), threshold)
            if needed > 0 { XCTAssertLessThan(DistinctSketch.estimate(setBits: needed - 1), threshold) }
        }
        XCTAssertEqual(SlowScanTracker.setBitsNeeded(toReach: 0), 0)
        XCTAssertEqual(SlowScanTracker.setBitsNeeded(toReach: .max), DistinctSketch.bits + 1, "never reached")
    }

    /// A full table under a stream of one-off sources evicts exactly the least recently
    /// active, one per new source, across many turns of its ring: a scanner touched between
    /// them stays, and every other source is forgotten in the order it came.
    func testAFullTableEvictsInOrderOfLastActivity() {
        var settings = Settings.Detection()
        settings.slowscanPorts = 40
        let capacities = DetectionCapacities(pendingProbes: 16, recentConnections: 16, scanSources: 16)
        var tracker = SlowScanTracker(settings: settings, capacities: capacities, budget: DetectionBudget(capacities: capacities))
        let scanner = IPAddress(ipv4: 0xC633_6407)
        func oneOff(_ index: Int) -> IPAddress { IPAddress(ipv4: 0x0A00_0000 | UInt32(index)) }
        var crossings: [SlowScanTracker.Crossing] = []
        var time = start
        let (rounds, perRound) = (60, 10)
        for round in 0..<rounds {
            time += second
            if let crossing = tracker.record(source: scanner, destination: local, port: UInt16(7000 + round), nowNanos: time,
                                             scanReported: false) { crossings.append(crossing) }
            for offset in 0..<perRound {
                time += 1_000_000
                XCTAssertNil(tracker.record(source: oneOff(round * perRound + offset), destination: local, port: 22,
                                            nowNanos: time, scanReported: false))
            }
        }
        let capacity = tracker.trackedSources
        XCTAssertEqual(capacity, 16)
        XCTAssertEqual(UInt64(capacity) + tracker.evictions, UInt64(rounds * perRound + 1), "one eviction per source past the capacity")
        XCTAssertEqual(crossings.map(\.source), [scanner], "the scanner was never evicted")
        // Left: the scanner and the newest one-off sources, none older.
        let total = rounds * perRound
        let kept = (0..<total).filter { tracker.tracks(oneOff($0)) }
        XCTAssertEqual(kept, Array((total - (capacity - 1))..<total))
        XCTAssertTrue(tracker.tracks(scanner))
    }

    /// The slow-scan sources each budget holds, as docs/capacity.md gives them.
    func testTheBudgetsHoldTheDocumentedSlowScanSources() {
        var held: [Int] = []
        for budget in [4, 16, 64, 256] {
            var settings = Settings.Detection()
            settings.memoryBudgetMiB = budget
            held.append(DetectionCapacities(settings: settings).slowScanSources)
        }
        print("slow-scan sources at 4, 16, 64, 256 MiB: \(held)")
        XCTAssertEqual(held, [512, 2202, 8807, 35379])
    }

    /// Slow-scan evictions on their own line of status and in their own metric; a status
    /// file from before slow scans reads with none.
    func testStatusAndMetricsShowSlowScanEvictionsApart() throws {
        var snapshot = PrometheusTextTests.sampleSnapshot()
        snapshot.detection.evictions = 7
        snapshot.detection.slowScanEvictions = 7
        XCTAssertTrue(PrometheusText.render(snapshot).contains("\nlightscope_detection_slowscan_source_evictions_total 7\n"))
        let report = StatusReport(running: true, problem: nil, daemon: snapshot, recentRuns: [], eventsLastHour: 0)
        let text = report.text(nowNanos: snapshot.updatedAtNanos)
        XCTAssertTrue(text.contains("7 evictions (0 probes, 0 scan sources, 7 slow-scan sources)"), text)
        let old = #"{"pendingProbes":1,"scanSources":2,"evictions":3,"probeEvictions":1,"scanSourceEvictions":2}"#
        let detection = try JSONDecoder().decode(DaemonSnapshot.Detection.self, from: Data(old.utf8))
        XCTAssertEqual(detection, DaemonSnapshot.Detection(pendingProbes: 1, scanSources: 2, evictions: 3, probeEvictions: 1,
                                                           scanSourceEvictions: 2, slowScanEvictions: 0))
    }

    /// The three settings, each from its key; a threshold past the sketch's range is refused.
    func testTheSettingsComeFromTheConfigFile() throws {
        let settings = try ConfigFile.parse("[detection]\nslowscan_ports = 30\nslowscan_addresses = 40\nslowscan_window = 12h\n",
                                            source: "test")
        XCTAssertEqual(settings.detection.slowscanPorts, 30)
        XCTAssertEqual(settings.detection.slowscanAddresses, 40)
        XCTAssertEqual(settings.detection.slowscanWindow, .seconds(12 * 3600))
        XCTAssertThrowsError(try ConfigFile.parse("[detection]\nslowscan_ports = \(DistinctSketch.largestThreshold + 1)\n", source: "test"))
        XCTAssertThrowsError(try ConfigFile.parse("[detection]\nslowscan_window = 2d\n", source: "test"))
    }
}
