@testable import LightScopeCore
import XCTest

/// A probe a full pending table pushes out is handed over as lost straight from the table's
/// record (`EvictedProbe`), no `PendingProbe` made first: each field of the loss as the probe
/// had it, in either family.
final class EvictedProbeLossTests: EngineTestCase {
    func testAnEvictedIPv4ProbeIsLostWithItsOwnPortsTimeAndPackets() {
        let engine = makeFullTableEngine()
        let first = IPAddress(ipv4: 0x0A00_0001)
        feed(engine, tcp(first, 40001, local, 8081, .syn), at: second + 5)
        feed(engine, tcp(first, 40001, local, 8081, .syn), at: second + 700) // retransmitted: 2 packets
        feed(engine, tcp(IPAddress(ipv4: 0x0A00_0002), 40002, local2, 8082, .syn), at: second + 800)
        feed(engine, tcp(IPAddress(ipv4: 0x0A00_0003), 40003, local, 8083, .syn), at: second + 900)
        XCTAssertEqual(lost, [LostProbe(timeNanos: second + 5, source: first, sourcePort: 40001, destination: local,
                                        destinationPort: 8081, packets: 2)])
        XCTAssertEqual(engine.state.probeEvictions, 1)
    }

    func testAnEvictedIPv6ProbeIsLostWithItsOwnPortsTimeAndPackets() {
        let local6 = IPAddress("2001:db8::1")!
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local6]),
                                     capacities: DetectionCapacities(pendingProbes: 2, recentConnections: 16, scanSources: 16))
        let sources = (1...3).map { IPAddress("2001:db8:1::\($0)")! }
        feed(engine, tcp(sources[0], 50001, local6, 9091, .syn), at: second + 7)
        feed(engine, tcp(sources[0], 50001, local6, 9091, .syn), at: second + 70)
        feed(engine, tcp(sources[0], 50001, local6, 9091, .syn), at: second + 77) // 3 packets
        feed(engine, tcp(sources[1], 50002, local6, 9092, .syn), at: second + 80)
        feed(engine, tcp(sources[2], 50003, local6, 9093, .syn), at: second + 90)
        XCTAssertEqual(lost.count, 1)
        XCTAssertEqual(lost.first, LostProbe(timeNanos: second + 7, source: sources[0], sourcePort: 50001, destination: local6,
                                             destinationPort: 9091, packets: 3))
    }

    /// An engine whose pending table holds two probes: the third new one evicts the oldest.
    private func makeFullTableEngine() -> DetectionEngine {
        DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                        localAddresses: LocalAddresses(addresses: [local, local2]),
                        capacities: DetectionCapacities(pendingProbes: 2, recentConnections: 16, scanSources: 16))
    }
}
