@_spi(Replay) @testable import LightScopeCore
import XCTest
import LightScopeTestSupport

/// The engine's verdicts, fed decoded packets built in code (the decoder has its own
/// byte-level tests; replay tests run bytes through both).
final class DetectionEngineTests: EngineTestCase {
    func testSynAnsweredByResetIsClosed() {
        let engine = makeEngine()
        feed(engine, tcp(remote, 40000, local, 23, .syn, ttl: 47, window: 29200), at: 100 * second)
        feed(engine, tcp(local, 23, remote, 40000, [.rst, .ack]), at: 100 * second + 1000)
        XCTAssertEqual(events.count, 1)
        let event = events[0]
        XCTAssertEqual(event.verdict, .closed)
        XCTAssertEqual(event.proto, .tcp)
        XCTAssertEqual(event.source, remote)
        XCTAssertEqual(event.sourcePort, 40000)
        XCTAssertEqual(event.destination, local)
        XCTAssertEqual(event.destinationPort, 23)
        XCTAssertEqual(event.timeNanos, 100 * second, "the probe's capture time")
        XCTAssertEqual(event.ttl, 47)
        XCTAssertEqual(event.tcpWindow, 29200)
        XCTAssertEqual(event.tcpOptions, "M1460,N,W7")
        XCTAssertEqual(event.packets, 1)
        XCTAssertEqual(event.interface, "eth0")
    }

    func testSynAnsweredBySynAckIsFineAndTheTimerDoesNotReportIt() {
        let engine = makeEngine()
        feed(engine, tcp(remote, 40000, local, 443, .syn), at: 0)
        feed(engine, tcp(local, 443, remote, 40000, [.syn, .ack]), at: 1000)
        engine.advance(toNanos: 60 * second) { events.append($0) }
        engine.finish { events.append($0) }
        XCTAssertEqual(events, [])
    }

    func testUnansweredSynTimesOutByTimerOnAQuietNetwork() {
        let engine = makeEngine()
        feed(engine, tcp(remote, 40000, local, 8081, .syn), at: 100 * second)
        feed(engine, tcp(remote, 40000, local, 8081, .syn), at: 101 * second) // retransmission
        engine.advance(toNanos: 109 * second) { events.append($0) }
        XCTAssertEqual(events, [], "not before syn_answer_timeout")
        engine.advance(toNanos: 110 * second) { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.unanswered])
        XCTAssertEqual(events.first?.packets, 2)
    }

    func testUnansweredProbeOfAListeningPortIsNotUnwanted() {
        let engine = makeEngine()
        engine.updateListeningPorts(ListeningPorts(tcp: [22]))
        feed(engine, tcp(remote, 40000, local, 22, .syn), at: 0)
        engine.advance(toNanos: 30 * second) { events.append($0) }
        XCTAssertEqual(events, [])
    }

    func testPortUnreachableAnswerToUDPIsClosed() {
        let engine = makeEngine()
        let quoted = QuotedProbe(source: remote, destination: local, protocolNumber: 17, sourcePort: 5353, destinationPort: 161, ttl: 44)
        let icmp = DecodedPacket(source: local, destination: remote, isIPv6: false, ttl: 64,
                                 transport: .icmpUnreachable(ICMPUnreachable(isIPv6: false, code: 3, quoted: quoted)))
        feed(engine, icmp, at: 5 * second)
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events.first?.verdict, .closed)
        XCTAssertEqual(events.first?.proto, .udp)
        XCTAssertEqual(events.first?.source, remote)
        XCTAssertEqual(events.first?.destinationPort, 161)
        XCTAssertEqual(events.first?.ttl, 44)
        // Host unreachable (code 1) is not a closed port.
        let host = DecodedPacket(source: local, destination: remote, isIPv6: false, ttl: 64,
                                 transport: .icmpUnreachable(ICMPUnreachable(isIPv6: false, code: 1, quoted: quoted)))
        feed(engine, host, at: 6 * second)
        XCTAssertEqual(events.count, 1)
    }

    func testIPv6PortUnreachableIsClosed() {
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [IPAddress("2001:db8::1")!]))
        let quoted = QuotedProbe(source: IPAddress("2001:db8::99")!, destination: IPAddress("2001:db8::1")!, protocolNumber: 17,
                                 sourcePort: 1000, destinationPort: 53, ttl: 60)
        let icmp = DecodedPacket(source: IPAddress("2001:db8::1")!, destination: IPAddress("2001:db8::99")!, isIPv6: true, ttl: 64,
                                 transport: .icmpUnreachable(ICMPUnreachable(isIPv6: true, code: 4, quoted: quoted)))
        engine.process(icmp, timeNanos: 1) { events.append($0) } lost: { lost.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.closed])
    }

    func testLatePacketsOfARecentConnectionAreNotUnwanted() {
        let engine = makeEngine()
        feed(engine, tcp(remote, 40000, local, 8080, .syn), at: 0)
        feed(engine, tcp(local, 8080, remote, 40000, [.syn, .ack]), at: 1000)
        // The service closes; a late SYN from the same remote to the port is answered by RST.
        feed(engine, tcp(remote, 40001, local, 8080, .syn), at: 600 * second)
        feed(engine, tcp(local, 8080, remote, 40001, [.rst, .ack]), at: 600 * second + 1000)
        XCTAssertEqual(events, [], "within grace")
        // After the grace period the same probe is unwanted again.
        feed(engine, tcp(remote, 40002, local, 8080, .syn), at: 1300 * second)
        feed(engine, tcp(local, 8080, remote, 40002, [.rst, .ack]), at: 1300 * second + 1000)
        XCTAssertEqual(events.map(\.verdict), [.closed])
    }

    func testTrafficNotToALocalAddressIsIgnored() {
        let engine = makeEngine()
        let elsewhere = IPAddress("203.0.113.5")!
        feed(engine, tcp(remote, 1, elsewhere, 23, .syn), at: 0)
        feed(engine, tcp(elsewhere, 23, remote, 1, [.rst, .ack]), at: 1)
        // Outbound connection attempts of the host itself are not probes.
        feed(engine, tcp(local, 5555, remote, 80, .syn), at: 2)
        feed(engine, tcp(remote, 80, local, 5555, [.rst, .ack]), at: 3)
        engine.finish { events.append($0) }
        XCTAssertEqual(events, [])
    }

    func testPortscanIsReportedOncePerWindowWithItsCount() {
        let engine = makeEngine()
        for port in UInt16(1)...40 {
            feed(engine, tcp(remote, 50000, local, port, .syn), at: UInt64(port) * second)
            feed(engine, tcp(local, port, remote, 50000, [.rst, .ack]), at: UInt64(port) * second + 1000)
        }
        XCTAssertEqual(events.filter { $0.verdict == .closed }.count, 40)
        let scans = events.filter { $0.verdict == .portscan }
        XCTAssertEqual(scans.count, 1)
        XCTAssertEqual(scans.first?.ports, 15)
        XCTAssertEqual(scans.first?.destination, local)
        XCTAssertNil(scans.first?.destinationPort)
        XCTAssertNil(scans.first?.sourcePort)
        // A new window reports again.
        for port in UInt16(100)...115 {
            feed(engine, tcp(remote, 50000, local, port, .syn), at: 400 * second + UInt64(port))
            feed(engine, tcp(local, port, remote, 50000, [.rst, .ack]), at: 400 * second + UInt64(port) + 1)
        }
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.count, 2)
    }

    func testAddrscanAcrossLocalAddresses() {
        let addresses = (1...30).map { IPAddress(ipv4: 0xC000_0200 | UInt32($0)) }
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: Set(addresses)))
        for (index, address) in addresses.enumerated() {
            let time = UInt64(index) * second
            feed(engine, tcp(remote, 50000, address, 445, .syn), at: time)
            feed(engine, tcp(address, 445, remote, 50000, [.rst, .ack]), at: time + 1)
        }
        let scans = events.filter { $0.verdict == .addrscan }
        XCTAssertEqual(scans.count, 1)
        XCTAssertEqual(scans.first?.addresses, 25)
        XCTAssertEqual(scans.first?.destinationPort, 445)
        XCTAssertNil(scans.first?.destination)
        XCTAssertFalse(events.contains { $0.verdict == .portscan })
    }

    func testThresholdsComeFromSettings() {
        let engine = makeEngine { $0.portscanPorts = 3 }
        for port in UInt16(1)...3 {
            feed(engine, tcp(remote, 50000, local, port, .syn), at: UInt64(port))
            feed(engine, tcp(local, port, remote, 50000, [.rst, .ack]), at: UInt64(port) + 1)
        }
        XCTAssertEqual(events.filter { $0.verdict == .portscan }.first?.ports, 3)
    }

    func testFinishReportsPendingProbesInsteadOfDroppingThem() {
        let engine = makeEngine()
        feed(engine, tcp(remote, 1, local, 23, .syn), at: second)
        engine.finish { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.unanswered])
        XCTAssertEqual(engine.state.pendingProbes, 0)
    }

    /// More pending probes than `finish` reports at a time: every one comes out, oldest
    /// first, and the engine is left with none (and can go on).
    func testFinishReportsEveryPendingProbeInOrderWhenThereAreMoreThanOneChunk() {
        let engine = makeEngine()
        let probes = 2 * DetectionCore.expiryChunk + 123
        for index in 0..<probes {
            feed(engine, tcp(remote, UInt16(1024 + index), local, 23, .syn), at: second + UInt64(index))
        }
        XCTAssertEqual(engine.state.pendingProbes, probes)
        engine.finish { events.append($0) }
        XCTAssertEqual(events.count, probes)
        XCTAssertTrue(events.allSatisfy { $0.verdict == .unanswered })
        // As many as there were, in strictly rising time from the first to the last: oldest
        // first, none twice, none left out.
        XCTAssertEqual(events.first?.timeNanos, second)
        XCTAssertEqual(events.last?.timeNanos, second + UInt64(probes - 1))
        XCTAssertTrue(zip(events, events.dropFirst()).allSatisfy { $0.timeNanos < $1.timeNanos })
        XCTAssertEqual(engine.state.pendingProbes, 0)
        feed(engine, tcp(remote, 1, local, 23, .syn), at: 2 * second)
        XCTAssertEqual(engine.state.pendingProbes, 1)
    }

    func testLearningLocalAddressesFromAnswers() {
        let engine = DetectionEngine(interface: "file", settings: Settings.Detection(), localAddresses: .learnedFromAnswers())
        feed(engine, tcp(remote, 1, local, 23, .syn), at: 0)
        feed(engine, tcp(local, 23, remote, 1, [.rst, .ack]), at: 1)
        feed(engine, tcp(remote, 2, local, 24, .syn), at: 2)  // never answered, but local is learned now
        feed(engine, tcp(remote, 3, IPAddress("203.0.113.9")!, 24, .syn), at: 3) // nobody known answers for this one
        engine.finish { events.append($0) }
        XCTAssertEqual(events.map(\.verdict), [.closed, .unanswered])
        XCTAssertTrue(engine.localAddresses.contains(local))
    }

    func testMemoryIsBoundedUnderASynFloodAndEvictionsAreCounted() {
        let capacities = DetectionCapacities(pendingProbes: 1000, recentConnections: 100, scanSources: 500)
        let engine = DetectionEngine(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]), capacities: capacities)
        var generator = SplitMix64(seed: 42)
        for index in 0..<100_000 {
            let source = IPAddress(ipv4: UInt32(truncatingIfNeeded: generator.next()))
            let port = UInt16(truncatingIfNeeded: generator.next())
            feed(engine, tcp(source, port, local, 80, .syn), at: UInt64(index) * 1000)
            engine.process(tcp(local, 80, source, port, [.rst, .ack]), timeNanos: UInt64(index) * 1000 + 1) { _ in } lost: { lost.append($0) }
            feed(engine, tcp(source, port &+ 1, local, 81, .syn), at: UInt64(index) * 1000 + 2)
        }
        let state = engine.state
        XCTAssertLessThanOrEqual(state.pendingProbes, 1000)
        XCTAssertLessThanOrEqual(state.scanSources, 500)
        XCTAssertGreaterThan(state.evictions, 0)
    }

    /// `ScanDetection.byCaller`, as replay runs it: the engine reports the failures alone, and
    /// a `ScanDetector` fed its events, and told each time the timers ran, gives the events of
    /// the engine that counts scans itself, in the same order, and keeps the same sources.
    /// Not told of the timer runs, it would not: a window the engine forgets then would go on
    /// counting a late `unanswered` (timed from its SYN), and the scan events differ.
    func testScansCountedByTheCallerGiveTheEnginesOwnEventsAndSources() {
        var settings = Settings.Detection()
        settings.portscanPorts = 5
        settings.addrscanAddresses = 4
        settings.portscanWindow = .seconds(3)
        settings.addrscanWindow = .seconds(3)
        settings.synAnswerTimeout = .seconds(1)
        let capacities = DetectionCapacities(pendingProbes: 5000, recentConnections: 100, scanSources: 400)
        let locals = (1...6).map { IPAddress(ipv4: 0xC000_0200 | UInt32($0)) }
        func engine(_ scans: ScanDetection) -> DetectionEngine {
            DetectionEngine(interface: "eth0", settings: settings, localAddresses: LocalAddresses(addresses: Set(locals)),
                            capacities: capacities, scans: scans)
        }
        let inline = engine(.inEngine)
        let split = engine(.byCaller)
        var scanner = ScanDetector(interface: split.interfaceName, settings: settings, budget: DetectionBudget(capacities: capacities))
        var inlineEvents: [UnwantedEvent] = []
        var splitEvents: [UnwantedEvent] = []
        func splitEvent(_ event: UnwantedEvent) {
            splitEvents.append(event)
            guard ScanDetector.isFailure(event.verdict), let destination = event.destination, let port = event.destinationPort else {
                return XCTFail("the engine reports failures alone: \(event.verdict)")
            }
            scanner.recordFailure(source: event.source, destination: destination, port: port, proto: event.proto,
                                  timeNanos: event.timeNanos, tcpFlags: event.tcpFlags) { splitEvents.append($0) }
        }
        func advanceSplit(to time: UInt64) {
            split.advance(toNanos: time, emit: splitEvent)
            scanner.timersRan(atNanos: time)
        }
        var generator = SplitMix64(seed: 11)
        var time: UInt64 = 0
        for _ in 0..<40_000 {
            time += 1_000_000 + generator.next() % 4_000_000
            // Half the attempts from 30 scanners (one host each, or one port each), half from
            // 100,000 others: sources repeat, windows end, and the one-off sources fill the table.
            let scanner = generator.next() % 60
            let remote = IPAddress(ipv4: 0x0A00_0000 | UInt32(scanner < 30 ? scanner : 100 + generator.next() % 100_000))
            var host = locals[Int(generator.next() % 6)]
            var port = UInt16(1 + generator.next() % 12)
            if scanner < 15 { host = locals[Int(scanner % 6)] } else if scanner < 30 { port = UInt16(100 + scanner) }
            let remotePort = UInt16(40000 + generator.next() % 1000)
            var packets = [tcp(remote, remotePort, host, port, .syn)]
            if generator.next() % 2 == 0 { packets.append(tcp(host, port, remote, remotePort, [.rst, .ack])) }
            for packet in packets {
                inline.process(packet, timeNanos: time) { inlineEvents.append($0) } lost: { lost.append($0) }
                if split.timersAreDue(atNanos: time) { advanceSplit(to: time) }
                split.process(packet, timeNanos: time, emit: splitEvent) { lost.append($0) }
            }
        }
        inline.advance(toNanos: time) { inlineEvents.append($0) }
        inline.finish { inlineEvents.append($0) }
        advanceSplit(to: time)
        split.finish(emit: splitEvent)

        XCTAssertTrue(inlineEvents.contains { $0.verdict == .portscan } && inlineEvents.contains { $0.verdict == .addrscan })
        XCTAssertEqual(splitEvents.count, inlineEvents.count)
        if let index = inlineEvents.indices.first(where: { $0 < splitEvents.count && inlineEvents[$0] != splitEvents[$0] }) {
            XCTFail("event \(index) differs: \(splitEvents[index]) instead of \(inlineEvents[index])")
        }
        XCTAssertEqual(split.state.scanSources, 0, "the engine tracks no scans")
        XCTAssertGreaterThan(scanner.evictions, 0, "the scan table fills")
        XCTAssertEqual(scanner.trackedSources, inline.state.scanSources)
        XCTAssertEqual(split.state.evictions + scanner.evictions + scanner.slowScanEvictions, inline.state.evictions)
        XCTAssertEqual(split.counters.adding(scanner.counters), inline.counters)
    }

    func testCapacitiesFollowTheBudget() {
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 64
        let big = DetectionCapacities(settings: settings)
        settings.memoryBudgetMiB = 16
        let small = DetectionCapacities(settings: settings)
        XCTAssertEqual(big.pendingProbes / small.pendingProbes, 4)
        XCTAssertGreaterThan(small.pendingProbes, 10_000)
        XCTAssertGreaterThan(small.scanSources, 1_000)
    }
}
