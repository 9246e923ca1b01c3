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

    /// docs/capacity.md: a flood faster than the table's capacity over `syn_answer_timeout`
    /// pushes every unanswered probe out before its verdict while it lasts, so only the last
    /// table's worth is judged; a probe answered at once is still judged, so a port scan
    /// inside the flood is seen whole. (A full table that refused new probes instead would
    /// judge more of the flood and lose the scan: bench/HISTORY.md, session 22.)
    func testAFloodThatOutlastsTheTableIsJudgedOnlyAtItsEndButItsAnsweredProbesAreAllJudged() {
        let capacities = DetectionCapacities(pendingProbes: 100, recentConnections: 16, scanSources: 1000)
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]), capacities: capacities)
        let millisecond: UInt64 = 1_000_000
        // 30 s of flood, 1,000 SYNs a second from one-off sources: three timeouts (10 s) long,
        // a probe pushed out 100 ms after its SYN. One SYN in 100 is a scanner's to a closed
        // port, answered by RST+ACK three flood SYNs later.
        var floodSYNs = 0
        var scannerPorts: [UInt16] = []
        var answerDue: (port: UInt16, index: Int)?
        for index in 0..<30_000 {
            let time = second + UInt64(index) * millisecond
            if let due = answerDue, due.index == index {
                feed(engine, tcp(local, due.port, remote, 50000, [.rst, .ack]), at: time - 1)
                answerDue = nil
            }
            if index % 100 == 50 {
                let port = UInt16(scannerPorts.count + 1)
                scannerPorts.append(port)
                feed(engine, tcp(remote, 50000, local, port, .syn), at: time)
                answerDue = (port, index + 3)
                continue
            }
            floodSYNs += 1
            feed(engine, tcp(IPAddress(ipv4: 0x0A00_0000 | UInt32(index)), 40000, local, 8080, .syn), at: time)
        }
        let lostDuringTheFlood = lost.count
        engine.finish { events.append($0) }

        let closed = events.filter { $0.verdict == .closed }
        XCTAssertEqual(closed.map(\.destinationPort), scannerPorts, "every answered probe judged, in order")
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.map(\.source), [remote])
        let unanswered = events.filter { $0.verdict == .unanswered }
        XCTAssertEqual(unanswered.count, 100, "one table's worth of a flood three timeouts long")
        // The last 100 flood SYNs: 29,899 to 29,999, less the scanner's at 29,950.
        XCTAssertEqual(unanswered.first?.timeNanos, second + 29_899 * millisecond,
                       "the flood's last SYNs: none judged while it lasted")
        XCTAssertEqual(lostDuringTheFlood, floodSYNs - 100)
        XCTAssertEqual(lost.count + unanswered.count, floodSYNs, "every flood probe judged or lost")
        XCTAssertEqual(engine.state.probeEvictions, UInt64(floodSYNs - 100))
    }
}
