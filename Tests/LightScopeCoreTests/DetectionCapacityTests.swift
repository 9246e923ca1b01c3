#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import LightScopeCore
import XCTest

/// The default budget's floors (issue 18): 1,000,000 pending IPv4 probes and 250,000 IPv4 scan
/// sources together, beside the connections table, in 64 MiB.
final class DetectionCapacityTests: XCTestCase {
    /// The records' sizes, which docs/capacity.md states.
    func testRecordsAreAsSmallAsTheDocumentSays() {
        XCTAssertEqual(MemoryLayout<RecordStamp>.size, 7)
        XCTAssertEqual(MemoryLayout<PendingIPv4Probe>.stride, 28)
        XCTAssertEqual(MemoryLayout<PendingWideProbe>.stride, 52)
        XCTAssertEqual(MemoryLayout<IPv4ConnectionRecord>.stride, 16)
        XCTAssertEqual(MemoryLayout<WideConnectionRecord>.stride, 28)
        XCTAssertEqual(MemoryLayout<IPv4SourceRecord>.stride, 32)
        XCTAssertEqual(MemoryLayout<WideSourceRecord>.stride, 56)
        XCTAssertEqual(MemoryLayout<OutboundFlowRecord>.stride, 16)
        XCTAssertEqual(MemoryLayout<BackscatterVictimRecord>.stride, 52)
        XCTAssertEqual(MemoryLayout<SlowScanRecord>.stride, 64)
    }

    /// The backscatter tables (docs/capacity.md): the host's own flows, and victims at once.
    func testTheBackscatterTablesHoldWhatTheDocumentSays() {
        for budget in [4, 16, 64, 256] {
            var settings = Settings.Detection()
            settings.memoryBudgetMiB = budget
            let capacities = DetectionCapacities(settings: settings)
            print("\(budget) MiB: \(capacities.outboundFlows) outbound flows, \(capacities.backscatterVictims) backscatter victims, "
                  + "\(Double(ExpiringTable<OutboundFlowRecord>.bytes(capacity: capacities.outboundFlows)) / Double(capacities.outboundFlows)) "
                  + "and \(Double(ExpiringTable<BackscatterVictimRecord>.bytes(capacity: capacities.backscatterVictims)) / Double(capacities.backscatterVictims)) B an entry")
        }
        let capacities = DetectionCapacities(settings: Settings.Detection())
        XCTAssertGreaterThanOrEqual(capacities.outboundFlows, 20_000)
        XCTAssertGreaterThanOrEqual(capacities.backscatterVictims, 2_000)
    }

    func testTheDefaultBudgetHoldsTheFloors() {
        let capacities = DetectionCapacities(settings: Settings.Detection())
        XCTAssertGreaterThanOrEqual(capacities.pendingProbes, 1_000_000)
        XCTAssertGreaterThanOrEqual(capacities.scanSources, 250_000)
        XCTAssertGreaterThanOrEqual(capacities.recentConnections, 100_000)
        XCTAssertGreaterThanOrEqual(capacities.pendingIPv6Probes, 500_000)
        XCTAssertGreaterThanOrEqual(capacities.ipv6ScanSources, 150_000)
        XCTAssertGreaterThanOrEqual(capacities.slowScanSources, 8500)
        print("shares needed: pending \(Double(ExpiringTable<PendingIPv4Probe>.bytes(capacity: 1_000_000)) / Double(64 << 20)), "
              + "scan sources \(Double(ExpiringTable<IPv4SourceRecord>.bytes(capacity: 250_000)) / Double(64 << 20)); "
              + "slow-scan sources \(capacities.slowScanSources), \(ExpiringTable<SlowScanRecord>.bytes(capacity: capacities.slowScanSources))")
        XCTAssertGreaterThanOrEqual(capacities.scanTargetBlocks * ScanTargets.ipv4PerBlock, 400_000)
        // About 45 bytes per pending probe, index included, at the most.
        XCTAssertLessThanOrEqual(Double(ExpiringTable<PendingIPv4Probe>.bytes(capacity: capacities.pendingProbes))
                                 / Double(capacities.pendingProbes), 45)
        XCTAssertLessThanOrEqual(DetectionTable.allCases.reduce(0) { $0 + $1.share }, 1)
        XCTAssertLessThanOrEqual(FragmentReassembler.bytes(capacity: capacities.fragmentDatagrams), 2 << 20, "the fragment table's share")
        XCTAssertGreaterThan(FragmentReassembler.bytes(capacity: capacities.fragmentDatagrams + 1), 2 << 20)
    }

    /// A packet loop's engine on a quiet network holds its tables' first sizes only.
    func testAQuietEngineHoldsLittle() {
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(), localAddresses: LocalAddresses())
        print("a quiet engine's tables: \(engine.state.tableBytes) bytes")
        XCTAssertLessThanOrEqual(engine.state.tableBytes, 512 << 10)
    }

    /// Two packet loops' engines on one budget: the flooded one takes the pending probes'
    /// share, the other keeps its first size and evicts; together they hold what one share
    /// holds (the second's first size aside, which a loop gets whatever the pool holds).
    func testTwoLoopsShareOneBudget() {
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 4
        let budget = DetectionBudget(settings: settings)
        let local = IPAddress("192.0.2.1")!
        func engine() -> DetectionEngine {
            DetectionEngine(interface: "eth0", settings: settings, localAddresses: LocalAddresses(addresses: [local]), budget: budget)
        }
        let flooded = engine()
        let quiet = engine()
        let quietFirstSize = quiet.state.tableBytes
        func syn(_ index: Int) -> DecodedPacket {
            DecodedPacket(source: IPAddress(ipv4: 0x0A00_0000 | UInt32(index)), destination: local, isIPv6: false, ttl: 50,
                          transport: .tcp(TCPSegment(sourcePort: 40000, destinationPort: 80, sequence: 1, acknowledgement: 0,
                                                     headerLength: 20, flags: .syn, window: 1024, options: TCPOptions())))
        }
        var lost = 0
        for index in 0..<80_000 {
            flooded.process(syn(index), timeNanos: 1_000_000 + UInt64(index)) { _ in } lost: { _ in lost += 1 }
        }
        for index in 0..<5000 {
            quiet.process(syn(index), timeNanos: 1_000_000 + UInt64(index)) { _ in } lost: { _ in lost += 1 }
        }
        let capacity = budget.capacities.pendingProbes
        XCTAssertEqual(UInt64(flooded.state.pendingProbes) + flooded.state.probeEvictions, 80_000)
        XCTAssertGreaterThan(flooded.state.pendingProbes, capacity * 9 / 10, "the flooded loop took the share")
        XCTAssertEqual(quiet.state.tableBytes, quietFirstSize, "nothing was left for the quiet loop to grow into")
        XCTAssertGreaterThan(quiet.state.probeEvictions, 0)
        XCTAssertLessThanOrEqual(flooded.state.pendingProbes + quiet.state.pendingProbes, capacity + DetectionBudget.initialEntries)
        XCTAssertEqual(UInt64(lost), flooded.state.probeEvictions + quiet.state.probeEvictions)
        XCTAssertEqual(budget.reservedBytes, flooded.state.tableBytes + quiet.state.tableBytes)
    }

    /// A flood's fill, through the engine: 250,000 sources refused once each (each a scan
    /// source), then 1,000,000 SYNs nobody answers (each a pending probe). Nothing is evicted,
    /// and the tables hold no more than the budget, by their own accounting and by the
    /// process's resident memory.
    func testAMillionProbesAndAQuarterMillionSourcesFitTheDefaultBudget() throws {
        let settings = Settings.Detection()
        let budget = DetectionBudget(settings: settings)
        let local = IPAddress("192.0.2.1")!
        let engine = DetectionEngine(interface: "eth0", settings: settings, localAddresses: LocalAddresses(addresses: [local]),
                                     budget: budget)
        let residentBefore = try residentKiB()
        var events = 0
        var lost = 0
        func packet(_ source: IPAddress, _ sourcePort: UInt16, _ destination: IPAddress, _ destinationPort: UInt16,
                    _ flags: TCPFlags) -> DecodedPacket {
            DecodedPacket(source: source, destination: destination, isIPv6: false, ttl: 50,
                          transport: .tcp(TCPSegment(sourcePort: sourcePort, destinationPort: destinationPort, sequence: 1,
                                                     acknowledgement: 0, headerLength: 20, flags: flags, window: 1024,
                                                     options: TCPOptions())))
        }
        var time: UInt64 = 1_764_000_000 * 1_000_000_000
        for index in 0..<250_000 {
            let source = IPAddress(ipv4: 0x0A00_0000 | UInt32(index))
            time += 1000
            engine.process(packet(source, 40000, local, 23, .syn), timeNanos: time) { _ in events += 1 } lost: { _ in lost += 1 }
            engine.process(packet(local, 23, source, 40000, [.rst, .ack]), timeNanos: time) { _ in events += 1 } lost: { _ in lost += 1 }
        }
        for index in 0..<1_000_000 {
            let source = IPAddress(ipv4: 0x6400_0000 | UInt32(index))
            time += 1000
            engine.process(packet(source, 40000, local, UInt16(1 + index % 60000), .syn), timeNanos: time) { _ in events += 1 }
                lost: { _ in lost += 1 }
        }
        let state = engine.state
        XCTAssertEqual(state.pendingProbes, 1_000_000)
        XCTAssertEqual(state.scanSources, 250_000)
        XCTAssertEqual(state.probeEvictions, 0)
        XCTAssertEqual(state.scanSourceEvictions, 0)
        XCTAssertEqual(lost, 0)
        XCTAssertEqual(events, 250_000, "each refused probe, and no scan")
        let budgetBytes = settings.memoryBudgetMiB << 20
        XCTAssertLessThanOrEqual(state.tableBytes, budgetBytes)
        XCTAssertEqual(state.tableBytes, budget.reservedBytes, "the engine's tables are all the budget holds")
        let grownKiB = try residentKiB() - residentBefore
        print("tables: \(state.tableBytes) bytes reserved; resident memory grew by \(grownKiB) KiB")
        // AddressSanitizer's quarantine and ThreadSanitizer's shadow memory dwarf any budget
        // (run alone under AddressSanitizer, resident memory grows by about 500 MiB here).
        if ProcessInfo.processInfo.environment["LIGHTSCOPE_SANITIZER"] == nil {
            XCTAssertLessThanOrEqual(grownKiB * 1024, budgetBytes, "what the process really holds")
        }
    }

    private func residentKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }!
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])!
    }
}
