@testable import LightScopeCore
import XCTest

/// The timer runs after a flood of unanswered SYNs: every probe judged, in order, and the
/// pending table's memory given back once it is empty, not while it empties.
final class DetectionDrainTests: XCTestCase {
    private let local = IPAddress("192.0.2.1")!

    private func syn(_ index: Int) -> DecodedPacket {
        DecodedPacket(source: IPAddress(ipv4: 0x0A00_0000 | UInt32(index)), destination: local, isIPv6: false, ttl: 50,
                      transport: .tcp(TCPSegment(sourcePort: 40000, destinationPort: UInt16(1024 + index % 60000), sequence: 1,
                                                 acknowledgement: 0, headerLength: 20, flags: .syn, window: 1024,
                                                 options: TCPOptions())))
    }

    /// 40,000 SYNs over 80 ms, judged by timer runs 10 ms apart, about 5,000 a run. Before,
    /// each run past a quarter full halved the table, moving the probes left, which the next
    /// runs took out anyway; now the table keeps its size while the flood's probes leave it,
    /// and shrinks in the quiet runs after.
    func testAFloodsTableShrinksOnceItsProbesAreOut() {
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 4
        // Scans left to the caller: the pending probes' table is the only one that changes size.
        let engine = DetectionEngine(interface: "eth0", settings: settings, localAddresses: LocalAddresses(addresses: [local]),
                                     scans: .byCaller)
        let start: UInt64 = 1_000_000_000
        let count = 40_000
        for index in 0..<count {
            engine.process(syn(index), timeNanos: start + UInt64(index) * 2000) { _ in XCTFail("no verdict yet") } lost: { _ in
                XCTFail("nothing lost")
            }
        }
        let fullBytes = engine.state.tableBytes
        XCTAssertEqual(engine.state.pendingProbes, count)
        var events: [UnwantedEvent] = []
        let timeout = UInt64(settings.synAnswerTimeout.nanoseconds)
        var now = start + timeout
        while engine.state.pendingProbes > 0 {
            now += 10_000_000
            engine.advance(toNanos: now) { events.append($0) }
            if engine.state.pendingProbes > 0 {
                XCTAssertEqual(engine.state.tableBytes, fullBytes, "no shrinking while the probes leave, \(engine.state.pendingProbes) left")
            }
        }
        XCTAssertEqual(events.count, count)
        XCTAssertEqual(events.map(\.source), (0..<count).map { IPAddress(ipv4: 0x0A00_0000 | UInt32($0)) }, "oldest first")
        XCTAssertTrue(events.allSatisfy { $0.verdict == .unanswered && $0.destination == local && $0.packets == 1 })
        XCTAssertEqual(events.first?.timeNanos, start)
        // The quiet runs after give the memory back, a halving a run.
        for _ in 0..<12 {
            now += 10_000_000
            engine.advance(toNanos: now) { _ in XCTFail("nothing left to judge") }
        }
        XCTAssertLessThan(engine.state.tableBytes, fullBytes / 4, "shrunk once empty")
    }

    /// A steady stream's runs take a small part of what is pending: the table shrinks as the
    /// stream slows, as it did.
    func testASteadyStreamIsNotADrain() {
        XCTAssertFalse(DetectionCore.isDraining(taken: 0, left: 0))
        XCTAssertFalse(DetectionCore.isDraining(taken: 0, left: 1000))
        XCTAssertFalse(DetectionCore.isDraining(taken: 10, left: 1000), "a run takes a hundredth of a steady stream's probes")
        XCTAssertTrue(DetectionCore.isDraining(taken: 5000, left: 15000))
        XCTAssertTrue(DetectionCore.isDraining(taken: 5000, left: 0))
    }

    /// IPv4 and IPv6 probes pending together come out of a timer run oldest first across the
    /// two tables, judged as they leave, and no more than the run's allowance.
    func testBothFamiliesComeOutOldestFirstWithinTheAllowance() {
        let local6 = IPAddress("2001:db8::1")!
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local, local6]))
        func probe(_ index: Int) -> DecodedPacket {
            let isIPv6 = index % 3 == 0
            return DecodedPacket(source: isIPv6 ? IPAddress("2001:db8:1::\(String(index, radix: 16))")! : IPAddress(ipv4: 0x0A00_0000 | UInt32(index)),
                                 destination: isIPv6 ? local6 : local, isIPv6: isIPv6, ttl: 50,
                                 transport: .tcp(TCPSegment(sourcePort: 40000, destinationPort: UInt16(2000 + index), sequence: 1,
                                                            acknowledgement: 0, headerLength: 20, flags: .syn, window: 1024,
                                                            options: TCPOptions())))
        }
        let start: UInt64 = 1_000_000_000
        for index in 0..<30 {
            engine.process(probe(index), timeNanos: start + UInt64(index) * 1000) { _ in } lost: { _ in XCTFail("nothing lost") }
        }
        var ports: [UInt16] = []
        engine.allowReports(20)
        engine.advance(toNanos: start + 20_000_000_000) { ports.append($0.destinationPort ?? 0) }
        XCTAssertEqual(ports, (0..<20).map { UInt16(2000 + $0) }, "oldest first, both families, 20 at most")
        XCTAssertEqual(engine.state.pendingProbes, 10)
        engine.allowReports(100)
        engine.advance(toNanos: start + 21_000_000_000) { ports.append($0.destinationPort ?? 0) }
        XCTAssertEqual(ports, (0..<30).map { UInt16(2000 + $0) })
        XCTAssertEqual(engine.state.pendingProbes, 0)
    }
}
