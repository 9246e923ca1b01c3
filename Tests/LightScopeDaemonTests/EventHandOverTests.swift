@testable import LightScopeCore
@testable import LightScopeDaemon
import LightScopeTestSupport
import XCTest

/// A packet loop hands its reported events to the sink together (`eventsPerHandover` at a
/// time, and the rest at the end of each ring drain and timer run): they arrive in the order
/// reported, whatever reports them, and none is left behind.
final class EventHandOverTests: XCTestCase {
    /// Records each event, and how many calls brought them.
    private final class Recorder: EventSink, @unchecked Sendable {
        var events: [UnwantedEvent] = []
        var calls = 0
        func submit(_ event: UnwantedEvent) -> Bool {
            calls += 1
            events.append(event)
            return true
        }
        func submit(contentsOf events: [UnwantedEvent]) -> Int {
            calls += 1
            self.events += events
            return events.count
        }
    }

    let second: UInt64 = 1_000_000_000
    let wallStart: UInt64 = 1_764_000_000 * 1_000_000_000
    let monotonicStart: UInt64 = 5_000 * 1_000_000_000

    /// On an interface whose loops share their scans (`[capture] threads` above 1), one source
    /// probes 100 ports of a host that does not answer, and ten other sources a port half a
    /// second later. The shared scans count the first failures once they are past their
    /// reorder window, in the timer run that judges the ten: the port scan comes after those
    /// ten's events, as when each event was submitted on its own, and every probe's event in
    /// the order of the SYNs.
    func testEventsReachTheSinkInTheOrderReportedWithTheSharedScansAfter() {
        let recorder = Recorder()
        let scans = SharedScanDetection(interface: "lab0", settings: Settings.Detection(),
                                        budget: DetectionConsumer.budget(for: Settings.Detection()))
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: recorder, lost: LostEvents(),
                                         sharedScans: scans, publishesSharedScans: true, roomShares: 1)
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        func syn(from source: String, to port: UInt16, at nanos: UInt64) {
            let frame = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                               PacketBuilder.ipv4(source, "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                                  PacketBuilder.tcp(40000, port, flags: 0x02)))
            frame.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: frame.count, timestampNanos: nanos, linkType: 1) }
        }
        let ports = (0..<100).map { UInt16(1000 + $0) }
        for (index, port) in ports.enumerated() { syn(from: "198.51.100.7", to: port, at: wallStart + second + UInt64(index) * 1_000) }
        consumer.dispatchEnded()
        consumer.tick(monotonicNanos: monotonicStart + second / 2, wallClockNanos: wallStart + second / 2)
        let others = (1...10).map { "10.9.0.\($0)" }
        for (index, source) in others.enumerated() { syn(from: source, to: 8080, at: wallStart + 3 * second / 2 + UInt64(index)) }
        consumer.dispatchEnded()
        consumer.tick(monotonicNanos: monotonicStart + 112 * second / 10, wallClockNanos: wallStart + 112 * second / 10)
        XCTAssertEqual(recorder.events.map(\.destinationPort), ports.map { $0 }, "the first source's probes, in order")
        XCTAssertEqual(recorder.events.map(\.verdict), ports.map { _ in .unanswered }, "no scan counted yet: the reorder window")
        recorder.events = []
        consumer.tick(monotonicNanos: monotonicStart + 12 * second, wallClockNanos: wallStart + 12 * second)
        let unanswered = recorder.events.prefix { $0.verdict == .unanswered }
        XCTAssertEqual(unanswered.map(\.source.description), others, "the ten probes' events first")
        let scanEvents = recorder.events.dropFirst(unanswered.count)
        XCTAssertTrue(scanEvents.contains { $0.verdict == .portscan }, "then the port scan: \(recorder.events.map(\.verdict))")
        XCTAssertTrue(scanEvents.allSatisfy { $0.verdict != .unanswered }, "\(recorder.events.map(\.verdict))")
        XCTAssertLessThan(recorder.calls, 10, "handed over together, not one call per event")
    }

    /// A timer run's events beyond a hand-over's worth: all of them reach the sink by the end
    /// of the run, in order, in a few calls.
    func testATimerRunsEventsAreAllHandedOverByItsEnd() {
        let recorder = Recorder()
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: recorder, lost: LostEvents())
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        let probes = 3 * DetectionConsumer.eventsPerHandover + 5
        for source in 0..<probes {
            let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                             PacketBuilder.ipv4("10.1.\(source >> 8).\(source & 255)", "192.0.2.1", ttl: 50,
                                                                protocolNumber: 6, PacketBuilder.tcp(40000, 8080, flags: 0x02)))
            syn.withUnsafeBytes {
                consumer.consume(bytes: $0, wireLength: syn.count, timestampNanos: wallStart + second + UInt64(source), linkType: 1)
            }
        }
        consumer.dispatchEnded()
        consumer.tick(monotonicNanos: monotonicStart + 12 * second, wallClockNanos: wallStart + 12 * second)
        XCTAssertEqual(recorder.events.count, probes)
        XCTAssertEqual(recorder.events.map(\.timeNanos), (0..<probes).map { wallStart + second + UInt64($0) })
        XCTAssertEqual(recorder.calls, 4)
    }

    /// A loop the runner gave up reports nothing more: its probes judged after `abandon`
    /// reach no sink, and the events' counts do not move; those judged before did.
    func testAnAbandonedLoopHandsOverNothingMore() {
        let recorder = Recorder()
        let counters = InterfaceCounters(interfaceName: "lab0")
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: counters, sink: recorder, lost: LostEvents())
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        func probe(_ sources: Range<Int>, at nanos: UInt64) {
            for source in sources {
                let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                                 PacketBuilder.ipv4("10.2.0.\(source)", "192.0.2.1", ttl: 50,
                                                                    protocolNumber: 6, PacketBuilder.tcp(40000, 8080, flags: 0x02)))
                syn.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: syn.count, timestampNanos: nanos, linkType: 1) }
            }
            consumer.dispatchEnded()
        }
        probe(0..<3, at: wallStart + second)
        consumer.tick(monotonicNanos: monotonicStart + 12 * second, wallClockNanos: wallStart + 12 * second)
        XCTAssertEqual(recorder.events.map(\.source.description), ["10.2.0.0", "10.2.0.1", "10.2.0.2"])
        let unwanted = counters.snapshot.unwanted
        consumer.abandon()
        probe(3..<6, at: wallStart + 13 * second)
        consumer.tick(monotonicNanos: monotonicStart + 30 * second, wallClockNanos: wallStart + 30 * second)
        consumer.flush(wallClockNanos: wallStart + 31 * second, beat: {})
        XCTAssertEqual(recorder.events.count, 3, "\(recorder.events.map(\.source.description))")
        XCTAssertEqual(counters.snapshot.unwanted, unwanted)
    }
}
