@testable import LightScopeCore
import XCTest

/// What the engine does at capacity (issue 17, item 8).
final class DetectionEvictionTests: EngineTestCase {
    /// Issue 17, item 8: a probe pushed out of a full pending table is handed over as lost,
    /// with what is known of it, oldest first, and counted; every probe is either an event or
    /// lost. A scan source pushed out is lost scan state, counted on its own, not a lost event.
    func testAFullTableHandsEachEvictedProbeOverAsLostAndCountsScanSourcesApart() {
        let capacities = DetectionCapacities(pendingProbes: 100, recentConnections: 16, scanSources: 20)
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]), capacities: capacities)
        let sources = (0..<150).map { IPAddress(ipv4: 0x0A00_0000 | UInt32($0)) }
        for (index, source) in sources.enumerated() {
            feed(engine, tcp(source, 40000, local, 8080, .syn), at: second + UInt64(index) * 1000)
        }
        feed(engine, tcp(sources[149], 40000, local, 8080, .syn), at: 2 * second) // a retransmission
        XCTAssertEqual(lost.map(\.source), Array(sources[0..<50]), "the oldest, each once")
        XCTAssertEqual(lost.first, LostProbe(timeNanos: second, source: sources[0], sourcePort: 40000, destination: local,
                                             destinationPort: 8080, packets: 1))
        XCTAssertEqual(engine.state.probeEvictions, 50)
        XCTAssertEqual(engine.state.pendingProbes, 100)
        engine.finish { events.append($0) }
        XCTAssertEqual(events.count + lost.count, sources.count, "every probe is an event or lost")
        XCTAssertEqual(events.last?.packets, 2)

        // Thirty sources refused once each, on a fresh engine: their first failures are held
        // apart (`FirstFailureTier`, of the scan sources' capacity here), ten pushed out, none
        // reaching the slow-scan table; no probe lost.
        let scans = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                    localAddresses: LocalAddresses(addresses: [local]), capacities: capacities)
        events.removeAll()
        lost.removeAll()
        for index in 0..<30 {
            let source = IPAddress(ipv4: 0x0B00_0000 | UInt32(index))
            feed(scans, tcp(source, 40000, local, 23, .syn), at: 3 * second + UInt64(index) * 1000)
            feed(scans, tcp(local, 23, source, 40000, [.rst, .ack]), at: 3 * second + UInt64(index) * 1000 + 1)
        }
        XCTAssertEqual(events.count, 30)
        XCTAssertEqual(scans.state.scanSources, 20)
        XCTAssertEqual(scans.state.scanSourceEvictions, 10)
        XCTAssertEqual(scans.state.probeEvictions, 0, "scan state is not counted as lost probes")
        XCTAssertEqual(lost, [])
        XCTAssertEqual(scans.state.slowScanEvictions, 0)
        XCTAssertEqual(scans.state.evictions, 10)
    }
}
