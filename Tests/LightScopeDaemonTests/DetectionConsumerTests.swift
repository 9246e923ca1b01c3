import Foundation
@testable import LightScopeCore
@testable import LightScopeDaemon
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The live pipeline's detection: its timers on the monotonic clock (issue 17, item 14), its
/// one budget for the whole daemon (item 17), its evicted probes counted lost once (item 8).
final class DetectionConsumerTests: XCTestCase {
    private final class Collector: EventSink, @unchecked Sendable {
        var events: [UnwantedEvent] = []
        func submit(_ event: UnwantedEvent) -> Bool {
            events.append(event)
            return true
        }
    }

    let second: UInt64 = 1_000_000_000
    let hour: UInt64 = 3_600_000_000_000
    let wallStart: UInt64 = 1_764_000_000 * 1_000_000_000
    let monotonicStart: UInt64 = 5_000 * 1_000_000_000

    /// The wall clock steps back an hour two seconds after a SYN: the probe still times out
    /// ten seconds after it came, by the monotonic clock, with its own capture time.
    func testLiveTimersFollowTheMonotonicClockWhenTheWallClockStepsBack() {
        let collector = Collector()
        let local = IPAddress("192.0.2.1")!
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [local]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: collector,
                                         lost: LostEvents())
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                         PacketBuilder.ipv4("198.51.100.1", "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                            PacketBuilder.tcp(40000, 8080, flags: 0x02)))
        syn.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: syn.count, timestampNanos: wallStart + second, linkType: 1) }
        consumer.tick(monotonicNanos: monotonicStart + 2 * second, wallClockNanos: wallStart + 2 * second - hour)
        consumer.tick(monotonicNanos: monotonicStart + 10 * second, wallClockNanos: wallStart + 10 * second - hour)
        XCTAssertEqual(collector.events, [])
        consumer.tick(monotonicNanos: monotonicStart + 11 * second, wallClockNanos: wallStart + 11 * second - hour)
        XCTAssertEqual(collector.events.map(\.verdict), [.unanswered])
        XCTAssertEqual(collector.events.first?.timeNanos, wallStart + second)
    }

    /// Every loop's engine draws on the same budget, whatever the interface; a new budget
    /// comes only with a new `memory_budget_mib`.
    func testEveryLoopDrawsOnTheDaemonsOneBudget() {
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 48
        let first = DetectionConsumer.budget(for: settings)
        XCTAssertTrue(DetectionConsumer.budget(for: settings) === first)
        settings.memoryBudgetMiB = 24
        let changed = DetectionConsumer.budget(for: settings)
        XCTAssertFalse(changed === first)
        XCTAssertEqual(changed.memoryBudgetMiB, 24)
    }

    /// A sink that takes `capacity` events, then drops (as the event queue does when full).
    private final class SmallQueue: EventSink, @unchecked Sendable {
        let capacity: Int
        var queued: [UnwantedEvent] = []
        var delivered: [UnwantedEvent] = []
        var dropped = 0
        init(capacity: Int) { self.capacity = capacity }
        func submit(_ event: UnwantedEvent) -> Bool {
            guard queued.count < capacity else {
                dropped += 1
                return false
            }
            queued.append(event)
            return true
        }
        var room: Int { capacity - queued.count }
        /// The writer empties the queue.
        func write() {
            delivered += queued
            queued = []
        }
    }

    /// A queue read by two loops at the same moment: both see the room as it was before
    /// either reported (here: as of the writer's last pass).
    private final class SimultaneousQueue: EventSink, @unchecked Sendable {
        let queue: SmallQueue
        private var roomSeen: Int
        init(capacity: Int) {
            queue = SmallQueue(capacity: capacity)
            roomSeen = capacity
        }
        func submit(_ event: UnwantedEvent) -> Bool { queue.submit(event) }
        var room: Int { roomSeen }
        func write() {
            queue.write()
            roomSeen = queue.room
        }
    }

    /// Two packet loops of one interface (`[capture] threads = 2`) time out their probes at
    /// the same moment: each takes its share of the queue's room, so together they drop none.
    func testLoopsOfOneInterfaceShareTheQueuesRoom() {
        let sink = SimultaneousQueue(capacity: 5_000)
        let queue = sink.queue
        let scans = SharedScanDetection(interface: "lab0", settings: Settings.Detection(),
                                        budget: DetectionConsumer.budget(for: Settings.Detection()))
        let loops = (1...2).map { member in
            DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                              facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                              counters: InterfaceCounters(interfaceName: "lab0/\(member)"), sink: sink, lost: LostEvents(),
                              sharedScans: scans, publishesSharedScans: member == 1, roomShares: 2)
        }
        for loop in loops { loop.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart) }
        let probes = 8_000
        for source in 0..<probes {
            let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                             PacketBuilder.ipv4("10.1.\(source >> 8).\(source & 255)", "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                                PacketBuilder.tcp(40000, 8080, flags: 0x02)))
            syn.withUnsafeBytes {
                loops[source % 2].consume(bytes: $0, wireLength: syn.count, timestampNanos: wallStart + second + UInt64(source), linkType: 1)
            }
        }
        for round in 1...3 {
            for loop in loops {
                loop.tick(monotonicNanos: monotonicStart + UInt64(11 + round) * second, wallClockNanos: wallStart + UInt64(11 + round) * second)
            }
            XCTAssertEqual(queue.dropped, 0, "round \(round)")
            sink.write()
        }
        XCTAssertEqual(queue.delivered.filter { $0.verdict == .unanswered }.count, probes)
    }

    /// More probes time out at once than the event queue holds: the rest wait in the pending
    /// table and are reported as the queue empties, none dropped, oldest first.
    func testProbesThatTimeOutBeyondTheQueuesRoomWaitInsteadOfBeingDropped() {
        let queue = SmallQueue(capacity: 5_000)
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: queue, lost: LostEvents())
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        let probes = 18_000
        for source in 0..<probes {
            let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                             PacketBuilder.ipv4("10.0.\(source >> 8).\(source & 255)", "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                                PacketBuilder.tcp(40000, 8080, flags: 0x02)))
            syn.withUnsafeBytes {
                consumer.consume(bytes: $0, wireLength: syn.count, timestampNanos: wallStart + second + UInt64(source), linkType: 1)
            }
        }
        for round in 1...4 {
            consumer.tick(monotonicNanos: monotonicStart + UInt64(11 + round) * second, wallClockNanos: wallStart + UInt64(11 + round) * second)
            XCTAssertEqual(queue.dropped, 0, "round \(round)")
            queue.write()
        }
        XCTAssertEqual(queue.delivered.count, probes)
        XCTAssertTrue(zip(queue.delivered, queue.delivered.dropFirst()).allSatisfy { $0.timeNanos < $1.timeNanos }, "oldest first")
        XCTAssertEqual(consumer.published?.detection.pendingProbes, 0)
    }

    /// The daemon's sink (the tally in front of the event pipeline) tells the consumer how
    /// many events the pipeline's queue has room for (without aggregation, which adds its
    /// table's room: `EventAggregationTests`).
    func testTheDaemonsSinkReportsTheQueuesRoom() throws {
        let directory = NSTemporaryDirectory() + "lightscope-room-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pipeline = EventPipeline(stateDirectory: directory, settings: Settings.Store(), anonymiser: .disabled, journal: nil,
                                     queueCapacity: 8, aggregateCapacity: 0)
        let sink = EventTally(downstream: pipeline)
        XCTAssertEqual(sink.room, 8)
        let event = UnwantedEvent(timeNanos: wallStart, interface: InterfaceName("lab0"), proto: .tcp,
                                  source: IPAddress("198.51.100.7")!, sourcePort: 40000, destination: IPAddress("192.0.2.1")!,
                                  destinationPort: 23, verdict: .unanswered, packets: 1, ttl: 50)
        for _ in 0..<3 { sink.submit(event) }
        XCTAssertEqual(sink.room, 5)
        for _ in 0..<6 { sink.submit(event) }
        XCTAssertEqual(sink.room, 0, "a full queue has no room, never less")
    }

    /// A flood beyond the pending probes' share: each probe pushed out is one lost event
    /// (eviction), counted as it goes; once the runner has given the loop up (its pending
    /// probes counted lost with the interface), nothing it evicts is counted again.
    func testEachEvictedProbeIsCountedLostOnce() {
        var settings = Settings.Detection()
        settings.memoryBudgetMiB = 4
        let lost = LostEvents()
        let consumer = DetectionConsumer(interface: "lab0", settings: settings,
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: Collector(), lost: lost)
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        func flood(_ sources: Range<UInt32>) {
            for source in sources {
                let address = "10.\(source >> 16 & 255).\(source >> 8 & 255).\(source & 255)"
                let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                                 PacketBuilder.ipv4(address, "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                                    PacketBuilder.tcp(40000, 8080, flags: 0x02)))
                syn.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: syn.count, timestampNanos: wallStart + second, linkType: 1) }
            }
        }
        let capacity = UInt32(DetectionCapacities(settings: settings).pendingProbes)
        flood(0..<capacity + 5_000)
        consumer.tick(monotonicNanos: monotonicStart + second, wallClockNanos: wallStart + second)
        let state = consumer.published!.detection
        XCTAssertGreaterThanOrEqual(state.probeEvictions, 5_000)
        XCTAssertEqual(lost[.eviction], state.probeEvictions)
        XCTAssertEqual(UInt64(state.pendingProbes) + state.probeEvictions, UInt64(capacity + 5_000))
        consumer.abandon()
        flood(capacity + 5_000..<capacity + 6_000)
        consumer.tick(monotonicNanos: monotonicStart + 2 * second, wallClockNanos: wallStart + 2 * second)
        XCTAssertEqual(consumer.published!.detection.probeEvictions, state.probeEvictions + 1_000)
        XCTAssertEqual(lost[.eviction], state.probeEvictions, "an abandoned loop's probes were counted with the interface")
    }

    /// A ring drain's packets are processed together, their lookups prefetched ahead
    /// (`DecodedPacketBatch`): more than a batch of SYNs, each answered at once by a RST,
    /// gives every `closed` event by the end of the drain, in the order the probes came.
    func testADrainsPacketsAreJudgedInOrderByItsEnd() {
        let collector = Collector()
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: collector, lost: LostEvents())
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        let probes = DecodedPacketBatch.capacity * 2 + 10
        for source in 0..<probes {
            let remote = "10.0.\(source >> 8).\(source & 255)"
            let syn = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                             PacketBuilder.ipv4(remote, "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                                PacketBuilder.tcp(40000, 8080, flags: 0x02)))
            let reset = PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                               PacketBuilder.ipv4("192.0.2.1", remote, ttl: 64, protocolNumber: 6,
                                                                  PacketBuilder.tcp(8080, 40000, flags: 0x14)))
            let time = wallStart + second + UInt64(source)
            syn.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: syn.count, timestampNanos: time, linkType: 1) }
            reset.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: reset.count, timestampNanos: time + 1, linkType: 1) }
        }
        consumer.dispatchEnded()
        XCTAssertEqual(collector.events.count, probes)
        XCTAssertTrue(collector.events.allSatisfy { $0.verdict == .closed })
        XCTAssertEqual(collector.events.map(\.source), (0..<probes).map { IPAddress("10.0.\($0 >> 8).\($0 & 255)")! })
    }

    /// Packets are decoded into the batch's next slot (`DecodedPacketBatch.nextSlot`); a
    /// fragmented SYN, whose reassembly drains the batch first, lands at the front of the
    /// emptied batch: its last piece comes after another SYN was held, and the probes it
    /// completes and the one held before it are both judged, once each.
    func testAFragmentedProbeAmongHeldPacketsKeepsItsPlace() {
        let collector = Collector()
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: InterfaceCounters(interfaceName: "lab0"), sink: collector, lost: LostEvents())
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        var time = wallStart + second
        func feed(_ frame: [UInt8]) {
            time += 1
            frame.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: frame.count, timestampNanos: time, linkType: 1) }
        }
        let remotes = (0..<9).map { "10.0.0.\($0 + 1)" }
        var lastPiece: [UInt8] = []
        for (index, remote) in remotes.enumerated() {
            let segment = PacketBuilder.tcp(40000, UInt16(8080 + index), flags: 0x02)
            if index == 5 {
                let pieces = PacketBuilder.fragmented(segment, pieceBytes: 8, source: remote, destination: "192.0.2.1")
                for piece in pieces.dropLast() { feed(piece) }
                lastPiece = pieces.last!
            } else {
                feed(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                            PacketBuilder.ipv4(remote, "192.0.2.1", ttl: 50, protocolNumber: 6, segment)))
                if index == 6 { feed(lastPiece) }
            }
        }
        for (index, remote) in remotes.enumerated() {
            feed(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                        PacketBuilder.ipv4("192.0.2.1", remote, ttl: 64, protocolNumber: 6,
                                                           PacketBuilder.tcp(UInt16(8080 + index), 40000, flags: 0x14))))
        }
        consumer.dispatchEnded()
        XCTAssertEqual(collector.events.map(\.verdict), Array(repeating: .closed, count: remotes.count))
        XCTAssertEqual(collector.events.map(\.source), remotes.map { IPAddress($0)! })
        XCTAssertEqual(collector.events.map(\.destinationPort), (0..<remotes.count).map { UInt16(8080 + $0) })
        XCTAssertEqual(collector.events.map(\.packets), Array(repeating: 1, count: remotes.count))
    }

    /// Events reach the pipeline through the daemon's tally with their counts kept by the loop
    /// and handed over at the end of each ring drain and timer run (not under the tally's lock
    /// per event): the tally's and the interface's figures are whole once the drain or the
    /// tick that reported them ends.
    func testTheTallysCountsAreWholeAfterEachDrainAndTick() {
        let collector = Collector()
        let tally = EventTally(downstream: collector)
        let counters = InterfaceCounters(interfaceName: "lab0")
        let consumer = DetectionConsumer(interface: "lab0", settings: Settings.Detection(),
                                         facts: DetectionConsumer.HostFacts(addresses: [IPAddress("192.0.2.1")!]),
                                         counters: counters, sink: tally, lost: LostEvents())
        consumer.tick(monotonicNanos: monotonicStart, wallClockNanos: wallStart)
        func send(_ frame: [UInt8], at nanos: UInt64) {
            frame.withUnsafeBytes { consumer.consume(bytes: $0, wireLength: frame.count, timestampNanos: nanos, linkType: 1) }
        }
        for index in 0..<5 {
            send(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                        PacketBuilder.ipv4("198.51.100.\(index + 1)", "192.0.2.1", ttl: 50, protocolNumber: 6,
                                                           PacketBuilder.tcp(40000, 8080, flags: 0x02))), at: wallStart + second)
        }
        // The first probe answered with a RST, in the same drain: closed.
        send(PacketBuilder.ethernet(PacketBuilder.etherTypeIPv4,
                                    PacketBuilder.ipv4("192.0.2.1", "198.51.100.1", ttl: 64, protocolNumber: 6,
                                                       PacketBuilder.tcp(8080, 40000, flags: 0x14))), at: wallStart + second + 1000)
        consumer.dispatchEnded()
        XCTAssertEqual(collector.events.map(\.verdict), [.closed])
        XCTAssertEqual(tally.snapshot.byVerdict, ["closed": 1])
        XCTAssertEqual(counters.snapshot.unwanted, 1)
        consumer.tick(monotonicNanos: monotonicStart + 12 * second, wallClockNanos: wallStart + 12 * second)
        XCTAssertEqual(collector.events.count, 5)
        XCTAssertEqual(tally.snapshot.byVerdict, ["closed": 1, "unanswered": 4])
        XCTAssertEqual(tally.snapshot.byTool.values.reduce(0, +), 5)
        XCTAssertEqual(counters.snapshot.unwanted, 5)
    }
}
