@testable import LightScopeCore
import XCTest

/// New IPv4 probes held out of the pending table while their answer may come at once
/// (`HeldProbes`): the table never sees a promptly answered SYN, and no verdict, loss or
/// count changes for it.
final class HeldProbesTests: EngineTestCase {
    /// The open stream's pair: the SYN waits beside the table, its SYN-ACK takes it from
    /// there; the table stays untouched (no insert, no removal), the state counts it pending.
    func testASynAnsweredAtOnceNeverEntersThePendingTable() {
        var core = DetectionCore(interface: "eth0", settings: Settings.Detection(),
                                 localAddresses: LocalAddresses(addresses: [local]))
        let noEvent: (UnwantedEvent) -> Void = { XCTFail("unexpected event \($0)") }
        let noLoss: (LostProbe) -> Void = { XCTFail("unexpected loss \($0)") }
        // The first probe sets the table's clock (it must go in); the next are held.
        core.process(tcp(remote, 40000, local, 8080, .syn), timeNanos: second, emit: noEvent, lost: noLoss)
        XCTAssertEqual(core.pending.count, 1)
        for port: UInt16 in 40001...40004 {
            core.process(tcp(remote, port, local, 80, .syn), timeNanos: second + UInt64(port), emit: noEvent, lost: noLoss)
            XCTAssertEqual(core.pending.count, 1, "held, not in the table")
            XCTAssertEqual(core.state.pendingProbes, 2, "but pending all the same")
            core.process(tcp(local, 80, remote, port, [.syn, .ack]), timeNanos: second + UInt64(port) + 1, emit: noEvent,
                         lost: noLoss)
            XCTAssertEqual(core.state.pendingProbes, 1)
        }
        XCTAssertEqual(core.pending.count, 1)
        XCTAssertEqual(core.pending.ipv4.capacity, core.pending.ipv4.minimumCapacity)
    }

    /// A held probe's retransmission stamped days earlier (a capture's times may run
    /// backwards; the timers do not run then) moves the table's clock, which evicts what it
    /// cannot hold, the held probe too, exactly as if it had been in the table.
    func testARetransmissionDaysEarlierEvictsAsTheTableWould() {
        func run(heldProbes: Int) -> ([UnwantedEvent], [LostProbe]) {
            var core = DetectionCore(interface: "eth0", settings: Settings.Detection(),
                                     localAddresses: LocalAddresses(addresses: [local]), heldProbes: heldProbes)
            var events: [UnwantedEvent] = []
            var lost: [LostProbe] = []
            let now = 1_700_000_000 * second
            for (port, time) in [(40000, now), (40001, now + second), (40001, now - 100 * 3600 * second)] {
                core.process(tcp(remote, UInt16(port), local, 23, .syn), timeNanos: time, emit: { events.append($0) },
                             lost: { lost.append($0) })
            }
            core.finish { events.append($0) }
            return (events, lost)
        }
        let (events, lost) = run(heldProbes: HeldProbes.defaultCapacity)
        let (expectedEvents, expectedLost) = run(heldProbes: 0)
        XCTAssertEqual(expectedLost.count, 2, "the clock's move evicts both")
        XCTAssertEqual(lost, expectedLost)
        XCTAssertEqual(events, expectedEvents)
    }

    /// A flood of unanswered SYNs is mostly not held (it would pass through the ring for
    /// nothing): once the held ones go on unanswered, one in `sampleEvery`; answers bring
    /// holding back.
    func testUnansweredProbesStopBeingHeldAndAnswersBringHoldingBack() {
        var core = DetectionCore(interface: "eth0", settings: Settings.Detection(),
                                 localAddresses: LocalAddresses(addresses: [local]))
        var time = second
        func syn(_ index: Int) {
            time += 1000
            core.process(tcp(IPAddress(ipv4: 0x0A00_0000 | UInt32(index)), 40000, local, 23, .syn), timeNanos: time,
                         emit: { _ in }, lost: { _ in })
        }
        for index in 0..<200 { syn(index) }
        var held = 0
        for index in 200..<(200 + 4 * Int(HeldProbes.sampleEvery)) {
            syn(index)
            if core.held.count == 1 { held += 1 }
        }
        XCTAssertEqual(held, 4, "one in sampleEvery")
        // Answered at once, the sampled ones earn the credit back.
        let sampled = 200 + 4 * Int(HeldProbes.sampleEvery)
        for index in sampled..<(sampled + 6 * Int(HeldProbes.sampleEvery)) {
            syn(index)
            time += 1000
            core.process(tcp(local, 23, IPAddress(ipv4: 0x0A00_0000 | UInt32(index)), 40000, [.syn, .ack]), timeNanos: time,
                         emit: { _ in }, lost: { _ in })
        }
        let before = core.pending.count
        syn(100_000)
        XCTAssertEqual(core.pending.count, before, "held again")
        XCTAssertEqual(core.held.count, 1)
    }

    /// Every verdict, loss and count the same as with every probe in the table at once:
    /// random SYNs, retransmissions, stealth probes, SYN-ACKs, RSTs with and without ACK,
    /// IPv6, timer runs with little allowance (overdue answers) and jumps of days either way
    /// (the table's clock moves), into a small table that evicts and one that grows.
    func testHeldProbesChangeNoVerdictLossOrCount() {
        for (capacity, seed) in [(40, 1 as UInt64), (40, 2), (3000, 3), (3000, 4)] {
            let reference = run(heldProbes: 0, pendingCapacity: capacity, seed: seed)
            XCTAssertGreaterThan(reference.events.count, 100)
            if capacity == 40 { XCTAssertGreaterThan(reference.lost.count, 10, "the small table evicts") }
            for held in [1, 4, HeldProbes.defaultCapacity] {
                let transcript = run(heldProbes: held, pendingCapacity: capacity, seed: seed)
                let run = "held \(held), capacity \(capacity), seed \(seed)"
                assertSame(transcript.events, reference.events, "events, \(run)")
                assertSame(transcript.lost, reference.lost, "lost, \(run)")
                assertSame(transcript.states, reference.states, "pending and evictions after each packet, \(run)")
                XCTAssertEqual(transcript.counters, reference.counters, run)
            }
        }
    }

    /// The first difference only: a whole transcript is thousands of lines.
    private func assertSame<Element: Equatable>(_ found: [Element], _ expected: [Element], _ what: String,
                                                line: UInt = #line) {
        guard found != expected else { return }
        let first = zip(found, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(found.count, expected.count)
        XCTFail("\(what): \(found.count) against \(expected.count); first difference at \(first): "
                + "\(first < found.count ? "\(found[first])" : "none") against \(first < expected.count ? "\(expected[first])" : "none")",
                line: line)
    }

    private struct Transcript {
        var events: [UnwantedEvent] = []
        var lost: [LostProbe] = []
        /// Pending probes and evictions after every packet.
        var states: [Int] = []
        var counters = DetectionCounters()
    }

    private func run(heldProbes: Int, pendingCapacity: Int, seed: UInt64) -> Transcript {
        var random = SplitMix(state: seed)
        let capacities = DetectionCapacities(pendingProbes: pendingCapacity, recentConnections: 64, scanSources: 64)
        var core = DetectionCore(interface: "eth0", settings: Settings.Detection(),
                                 localAddresses: LocalAddresses(addresses: [local, IPAddress("2001:db8::1")!]),
                                 capacities: capacities, heldProbes: heldProbes)
        var transcript = Transcript()
        var time = 1_700_000_000 * second
        // The small table: few keys, often a timer run. The large one: enough probes within a
        // timeout for it to grow.
        let small = pendingCapacity < 100
        let remotes = (0..<(small ? 40 : 1500)).map { IPAddress(ipv4: 0x0A00_0000 | UInt32($0)) }
        var recent: [(IPAddress, UInt16, UInt16)] = []
        for _ in 0..<6000 {
            time += random.next(below: 40_000)
            let roll = random.next(below: 1000)
            if roll < (small ? 10 : 1) { time += 3 * second }
            if roll == 999 { time += 100 * 3600 * second }
            // A capture's times may run backwards: the timers wait, the table's clock moves.
            if roll == 998 { time -= 100 * 3600 * second }
            var remote = remotes[Int(random.next(below: UInt64(remotes.count)))]
            var remotePort = UInt16(40000 + random.next(below: 6))
            var localPort: UInt16 = random.next(below: 3) == 0 ? 23 : 80
            // Answers mostly to one of the last SYNs, as a host's are.
            if roll % 20 >= 8 && roll % 20 < 16 && !recent.isEmpty && random.next(below: 10) < 7 {
                (remote, remotePort, localPort) = recent[Int(random.next(below: UInt64(recent.count)))]
            } else if roll % 20 < 8 {
                recent.append((remote, remotePort, localPort))
                if recent.count > 50 { recent.removeFirst() }
            }
            let packet: DecodedPacket
            switch roll % 20 {
            case 0..<8: packet = tcp(remote, remotePort, local, localPort, .syn)
            case 8..<12: packet = tcp(local, localPort, remote, remotePort, [.syn, .ack])
            case 12..<15: packet = tcp(local, localPort, remote, remotePort, [.rst, .ack])
            case 15: packet = tcp(local, localPort, remote, remotePort, .rst)
            case 16: packet = tcp(remote, remotePort, local, localPort, .fin)
            case 17: packet = tcp(IPAddress("2001:db8::\(remotePort % 7 + 2)")!, remotePort, IPAddress("2001:db8::1")!, localPort, .syn)
            case 18:
                core.allowReports(Int(random.next(below: 4)))
                core.advance(toNanos: time, emit: { transcript.events.append($0) })
                continue
            default: packet = tcp(remote, remotePort, local, localPort, .syn, ttl: 60, window: 512)
            }
            core.process(packet, timeNanos: time, emit: { transcript.events.append($0) }, lost: { transcript.lost.append($0) })
            transcript.states.append(core.state.pendingProbes)
            transcript.states.append(Int(core.state.probeEvictions))
        }
        core.allowReports(.max)
        core.finish { transcript.events.append($0) }
        transcript.counters = core.counters
        return transcript
    }
}

/// A small seeded generator, so that both runs see the same packets.
private struct SplitMix {
    var state: UInt64

    mutating func next(below bound: UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return (value ^ (value >> 31)) % bound
    }
}
