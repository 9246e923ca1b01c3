import Foundation
@testable import LightScopeCapture
import LightScopeCore
@testable import LightScopeReplay
import LightScopeTestSupport
import XCTest

/// `lightscope replay` splits its work over three threads (reading and decoding, detection,
/// tallying) and reads classic pcap files itself. Whatever the split, its events must be
/// exactly those of the plainest possible replay: libpcap reading every packet, every packet
/// decoded, one engine on one thread. Compared event by event, in order, as JSON lines, on a
/// generated mix with every verdict, evictions (a small memory budget) and timers.
final class ReplayPipelineTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lightscope-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16, flags: UInt8) -> [UInt8] {
        PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                               PacketBuilder.ipv4(source, destination, ttl: 50, protocolNumber: 6,
                                                  PacketBuilder.tcp(sourcePort, destinationPort, flags: flags,
                                                                    options: flags == 0x02 ? PacketBuilder.linuxSYNOptionBytes : [])))
    }

    /// Unanswered and refused probes (SYNs, some FIN, NULL and Xmas) from a few thousand remotes
    /// (so sources repeat), ACK probes the host resets, port and
    /// address scans, real connections with their established traffic, UDP probes answered by
    /// port unreachable, and now and then a frame that does not decode; over about 40 s of
    /// capture time, so the 10 s answer timeout and the timers run many times.
    private func writeMix(packets: Int, seed: UInt64) throws -> String {
        var random = SplitMix64(seed: seed)
        var writer = PcapWriter()
        var time: UInt64 = 1_764_000_000 * 1_000_000_000
        func local(_ random: inout SplitMix64) -> String { "192.0.2.\(1 + random.next(below: 40))" }
        func remote(_ random: inout SplitMix64) -> String { "10.0.\(random.next(below: 16)).\(random.next(below: 250))" }
        var written = 0
        while written < packets {
            time += UInt64(random.next(below: 2_000_000))
            let remoteAddress = remote(&random), localAddress = local(&random)
            let remotePort = UInt16(32768 + random.next(below: 20000)), localPort = UInt16(1 + random.next(below: 1024))
            switch random.next(below: 100) {
            case 0..<35: // a probe nobody answers
                writer.add(tcp(remoteAddress, remotePort, localAddress, localPort, flags: 0x02), timeNanos: time)
                written += 1
            case 35..<60: // a probe of a closed port: a SYN, or now and then a FIN, NULL or Xmas probe
                let flags: UInt8 = [0x02, 0x02, 0x02, 0x01, 0x00, 0x29][random.next(below: 6)]
                writer.add(tcp(remoteAddress, remotePort, localAddress, localPort, flags: flags), timeNanos: time)
                writer.add(tcp(localAddress, localPort, remoteAddress, remotePort, flags: 0x14), timeNanos: time + 40_000)
                written += 2
            case 60..<63: // a port scan: one host, 30 ports, refused
                for port in UInt16(1000)..<1030 {
                    time += 10_000
                    writer.add(tcp(remoteAddress, remotePort, localAddress, port, flags: 0x02), timeNanos: time)
                    writer.add(tcp(localAddress, port, remoteAddress, remotePort, flags: 0x14), timeNanos: time + 5_000)
                }
                written += 60
            case 63..<65: // an address scan: one port, every local host, unanswered
                for host in 1...40 {
                    time += 10_000
                    writer.add(tcp(remoteAddress, remotePort, "192.0.2.\(host)", 23, flags: 0x02), timeNanos: time)
                }
                written += 40
            case 65..<80: // a real connection, then its traffic (and probes of its port later)
                writer.add(tcp(remoteAddress, remotePort, localAddress, 443, flags: 0x02), timeNanos: time)
                writer.add(tcp(localAddress, 443, remoteAddress, remotePort, flags: 0x12), timeNanos: time + 30_000)
                writer.add(tcp(remoteAddress, remotePort, localAddress, 443, flags: 0x10), timeNanos: time + 60_000)
                for step in 1...5 {
                    writer.add(tcp(remoteAddress, remotePort, localAddress, 443, flags: 0x18), timeNanos: time + 60_000 + UInt64(step) * 1000)
                }
                written += 8
            case 80..<88: // a UDP probe answered by port unreachable
                let probe = PacketBuilder.ipv4(remoteAddress, localAddress, ttl: 40, protocolNumber: 17,
                                               PacketBuilder.udp(remotePort, localPort))
                writer.add(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4, probe), timeNanos: time)
                writer.add(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                                  PacketBuilder.ipv4(localAddress, remoteAddress, protocolNumber: 1,
                                                                     PacketBuilder.icmpUnreachable(code: 3, quoting: probe))),
                           timeNanos: time + 20_000)
                written += 2
            case 88..<89: // an ACK probe, reset by the host from open or closed port alike: unfiltered
                writer.add(tcp(remoteAddress, remotePort, localAddress, localPort, flags: 0x10), timeNanos: time)
                writer.add(tcp(localAddress, localPort, remoteAddress, remotePort, flags: 0x04), timeNanos: time + 40_000)
                written += 2
            case 89..<90: // a frame cut short: not decodable
                writer.add(Array(tcp(remoteAddress, remotePort, localAddress, localPort, flags: 0x02).prefix(20)), timeNanos: time)
                written += 1
            case 90..<92: // backscatter: a victim answers SYNs that forged a local address
                writer.add(tcp(remoteAddress, 80, localAddress, remotePort, flags: 0x12), timeNanos: time)
                writer.add(tcp(remoteAddress, 80, localAddress, remotePort &+ 1, flags: 0x14), timeNanos: time + 10_000)
                written += 2
            default: // established traffic of some connection
                writer.add(tcp(remoteAddress, remotePort, localAddress, 443, flags: 0x10), timeNanos: time)
                written += 1
            }
        }
        let url = directory.appendingPathComponent("mix-\(seed).pcap")
        try writer.write(to: url)
        return url.path
    }

    /// The reference: libpcap reads, every packet is decoded, one engine on this thread.
    /// Returns its events as JSON lines, and the probes it lost.
    private func plainReplay(_ path: String, local: [IPPrefix], settings: Settings.Detection,
                             expectEvictions: Bool = true) throws -> (lines: [String], lostProbes: UInt64) {
        let reader = try PcapFileReader(path: path)
        let engine = DetectionEngine(interface: "pcap", settings: settings,
                                     localAddresses: local.isEmpty ? .learnedFromAnswers() : LocalAddresses(prefixes: local))
        var lines: [String] = []
        var lostProbes: UInt64 = 0
        var last: UInt64 = 0
        let emit: (UnwantedEvent) -> Void = { lines.append(EventJSON.encode(EventRecord($0))) }
        let damage = reader.forEachPacketThroughLibpcap { bytes, _, time in
            last = max(last, time)
            guard let packet = try? PacketDecoder.decode(bytes, linkType: reader.linkType) else { return }
            engine.process(packet, timeNanos: time, emit: emit) { _ in lostProbes += 1 }
        }
        XCTAssertNil(damage)
        if expectEvictions { XCTAssertGreaterThan(engine.state.evictions, 0, "the budget is small enough that the tables evict") }
        engine.advance(toNanos: last, emit: emit)
        engine.finish(emit: emit)
        return (lines, lostProbes)
    }

    private func assertReplayMatchesThePlainReplay(local: [IPPrefix], seed: UInt64, packets: Int = 60_000,
                                                   synAnswerTimeout: Duration = Settings.Detection().synAnswerTimeout) throws {
        let path = try writeMix(packets: packets, seed: seed)
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 1 // small enough that the tables evict under this mix (below what a config may say)
        settings.synAnswerTimeout = synAnswerTimeout
        // Low enough that the mix's sources that try a few ports make slow scans, in its minutes.
        settings.slowscanPorts = 3
        settings.slowscanAddresses = 3
        let expected = try plainReplay(path, local: local, settings: settings)
        if synAnswerTimeout > .seconds(40) { XCTAssertGreaterThan(expected.lostProbes, 0, "the pending probes fill their table") }
        var lines: [String] = []
        let summary = try Replay(path: path, json: true, local: local, settings: settings).run { lines.append($0) }
        XCTAssertGreaterThan(summary.undecodable, 0, "the mix has undecodable frames")
        for verdict in Verdict.allCases {
            XCTAssertGreaterThan(summary.events[verdict] ?? 0, 0, "the mix gives \(verdict.rawValue) events")
        }
        XCTAssertEqual(lines.count, expected.lines.count, "event count")
        if let index = lines.indices.first(where: { $0 < expected.lines.count && lines[$0] != expected.lines[$0] }) {
            XCTFail("event \(index) differs:\n  replay: \(lines[index])\n  plain:  \(expected.lines[index])")
        }
        XCTAssertEqual(summary.lostProbes, expected.lostProbes, "probes lost to a full table")
    }

    func testReplayGivesThePlainReplaysEventsInOrderWithLocalAddressesGiven() throws {
        try assertReplayMatchesThePlainReplay(local: [IPPrefix("192.0.2.0/24")!], seed: 1)
    }

    func testReplayGivesThePlainReplaysEventsInOrderLearningLocalAddresses() throws {
        try assertReplayMatchesThePlainReplay(local: [], seed: 2)
    }

    /// No probe times out before the end of the file, so the pending probes fill their
    /// table: replay loses the same probes as the plain replay, and says how many.
    func testReplayLosesThePlainReplaysProbesWhenThePendingTableFills() throws {
        try assertReplayMatchesThePlainReplay(local: [IPPrefix("192.0.2.0/24")!], seed: 3, packets: 120_000,
                                              synAnswerTimeout: .seconds(600))
    }

    /// Replay hands the engine an established-TCP packet only when its time runs the timers.
    /// Here one does: the timers run at that packet, just before the probe's answer timeout,
    /// so the RST 30 ms later still finds the probe (closed). Had the packet not reached the
    /// engine, the timers would run at the RST instead, time the probe out first
    /// (unanswered), and the RST would find nothing.
    func testAnEstablishedPacketWhoseTimeRunsTheTimersReachesTheEngine() throws {
        let millisecond: UInt64 = 1_000_000
        let base: UInt64 = 1_764_000_000 * 1_000_000_000
        let timeout = Settings.Detection().synAnswerTimeout
        let probeTime = base + 50 * millisecond
        let timersTime = probeTime + UInt64(timeout.nanoseconds) - 10 * millisecond
        var writer = PcapWriter()
        writer.add(tcp("10.0.0.9", 40000, "192.0.2.1", 443, flags: 0x10), timeNanos: base) // runs the timers first
        writer.add(tcp("10.0.0.7", 40001, "192.0.2.1", 1000, flags: 0x02), timeNanos: probeTime)
        writer.add(tcp("10.0.0.9", 40000, "192.0.2.1", 443, flags: 0x10), timeNanos: timersTime)
        writer.add(tcp("192.0.2.1", 1000, "10.0.0.7", 40001, flags: 0x14), timeNanos: timersTime + 30 * millisecond)
        let url = directory.appendingPathComponent("timers.pcap")
        try writer.write(to: url)
        let local = [IPPrefix("192.0.2.0/24")!]
        let expected = try plainReplay(url.path, local: local, settings: Settings.Detection(), expectEvictions: false)
        var lines: [String] = []
        let summary = try Replay(path: url.path, json: true, local: local, settings: Settings.Detection()).run { lines.append($0) }
        XCTAssertEqual(summary.events, [.closed: 1], "the RST found its probe")
        XCTAssertEqual(lines, expected.lines)
    }
}
