@testable import LightScopeCore
import XCTest

/// Scans counted across packet loops (`[capture] threads`): two engines that each see some of
/// a scanner's address pairs, their failures handed to one `LiveScanDetector` a loop's whole
/// batch at a time, report the scans that one engine which saw everything reports.
final class LiveScanDetectorTests: EngineTestCase {
    private let targets = (10...17).map { IPAddress("192.0.2.\($0)")! }
    private let scanner = IPAddress("198.51.100.20")!
    /// Wall-clock capture times, as live capture has them.
    private let start: UInt64 = 1_796_232_570_000_000_000

    private func settings() -> Settings.Detection {
        var settings = Settings.Detection()
        settings.addrscanAddresses = 6
        return settings
    }

    /// Ports 20-39 of the eight addresses, port by port, as a fast scanner sends them, each
    /// answered by a RST: the address scan of port 20 crosses at its sixth address, long
    /// before the source's 30 targets kept run out.
    private func probes() -> [(probe: DecodedPacket, answer: DecodedPacket, time: UInt64)] {
        var probes: [(DecodedPacket, DecodedPacket, UInt64)] = []
        for port in UInt16(20)...39 {
            for target in targets {
                probes.append((tcp(scanner, 40000, target, port, .syn), tcp(target, port, scanner, 40000, [.rst, .ack]),
                               start + UInt64(probes.count) * 100_000))
            }
        }
        return probes
    }

    private func scanEvents(_ events: [UnwantedEvent]) -> [String] {
        events.filter { !ScanDetector.isFailure($0.verdict) }.map { "\($0.verdict) \($0.source) \($0.destinationPort ?? 0)" }
    }

    func testScansAreCountedInTheOrderOneLoopWouldCountThem() {
        let whole = DetectionEngine(interface: "eth0", settings: settings(), localAddresses: LocalAddresses(addresses: Set(targets)),
                                    clock: .monotonic)
        for (probe, answer, time) in probes() {
            feed(whole, probe, at: time)
            feed(whole, answer, at: time + 1000)
        }
        let expected = scanEvents(events)
        XCTAssertEqual(expected, ["addrscan 198.51.100.20 20"])

        // Two loops, each with the pairs of every other address; each hands over its whole
        // share at once (a ring block), the first loop's first.
        events.removeAll()
        let loops = (0..<2).map { _ in
            DetectionEngine(interface: "eth0", settings: settings(), localAddresses: LocalAddresses(addresses: Set(targets)),
                            scans: .byCaller, clock: .monotonic)
        }
        var shared = LiveScanDetector(interface: InterfaceName("eth0"), settings: settings(), budget: DetectionBudget(settings: settings()))
        var scans: [UnwantedEvent] = []
        for loop in 0..<2 {
            for (probe, answer, time) in probes() where targets.firstIndex(of: probe.destination)! % 2 == loop {
                feed(loops[loop], probe, at: time)
                let before = events.count
                feed(loops[loop], answer, at: time + 1000)
                for failure in events[before...] { shared.add(failure, reportedNanos: time + 1000) { scans.append($0) } }
            }
        }
        XCTAssertEqual(scans, [], "nothing is counted before the reorder window has passed")
        let end = start + 160 * 100_000
        shared.advance(monotonicNanos: 1_000_000_000, wallClockNanos: end + LiveScanDetector.reorderWindowNanos + 1) { scans.append($0) }
        XCTAssertEqual(shared.waitingCount, 0)
        XCTAssertEqual(scanEvents(scans), expected)
    }

    /// Counted in arrival order instead (what a batch per loop gives), the first loop's share
    /// fills the source's 30 targets with four addresses per port, and the address scan is never seen.
    func testWithoutTheReorderingTheScanWouldBeMissed() {
        let loops = (0..<2).map { _ in
            DetectionEngine(interface: "eth0", settings: settings(), localAddresses: LocalAddresses(addresses: Set(targets)),
                            scans: .byCaller, clock: .monotonic)
        }
        var shared = LiveScanDetector(interface: InterfaceName("eth0"), settings: settings(), budget: DetectionBudget(settings: settings()))
        var scans: [UnwantedEvent] = []
        for loop in 0..<2 {
            for (probe, answer, time) in probes() where targets.firstIndex(of: probe.destination)! % 2 == loop {
                feed(loops[loop], probe, at: time)
                feed(loops[loop], answer, at: time + 1000)
            }
            for failure in events { shared.add(failure, reportedNanos: start + UInt64(loop)) { scans.append($0) } }
            events.removeAll()
        }
        shared.finish { scans.append($0) }
        XCTAssertEqual(scanEvents(scans), [])
    }

    func testAFloodCountsTheOldestAtOnceRatherThanHoldThemAll() {
        var shared = LiveScanDetector(interface: InterfaceName("eth0"), settings: settings(), budget: DetectionBudget(settings: settings()))
        let failure = UnwantedEvent(timeNanos: start, interface: InterfaceName("eth0"), proto: .tcp, source: scanner, sourcePort: 1,
                                    destination: targets[0], destinationPort: 80, verdict: .closed, packets: 1)
        for index in 0...LiveScanDetector.mostWaiting { shared.add(failure, reportedNanos: start + UInt64(index)) { _ in } }
        XCTAssertEqual(shared.waitingCount, LiveScanDetector.mostWaiting / 2)
        XCTAssertEqual(shared.trackedSources, 1)
    }
}
