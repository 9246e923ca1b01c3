import LightScopeCore
@testable import LightScopeStore
import XCTest

/// Aggregation (docs/store.md): past the queue's mark a flood's events are folded into
/// aggregate events per (verdict, port, source /24 or /48, minute), and every event is
/// written, aggregated or lost with a reason. A real pipeline and a real SQLite store.
final class EventAggregationTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    static let minute: UInt64 = 60_000_000_000
    /// The start of a minute, so that `flood` knows which minute each event falls in.
    static let start = Sample.baseNanos / minute * minute

    /// Event `index` of a flood: SYNs answered by RSTs from two /24s to three ports, over
    /// `minutes` minutes.
    static func probe(_ index: Int, count: Int, minutes: Int = 1) -> UnwantedEvent {
        let network: UInt32 = index % 2 == 0 ? 0xCB00_7100 : 0xC633_6400 // 203.0.113.0, 198.51.100.0
        let time = start + UInt64(index) * UInt64(minutes) * minute / UInt64(count)
        return UnwantedEvent(timeNanos: time, interface: "eth0", proto: .tcp, source: IPAddress(ipv4: network | UInt32(index % 251)),
                             sourcePort: 40000, destination: IPAddress("192.0.2.1")!, destinationPort: [22, 23, 80][index % 3],
                             verdict: .closed, packets: 1, ttl: 54, tool: .unknown, tcpFlags: .syn)
    }

    func makePipeline(queue: Int, aggregates: Int = EventPipeline.defaultAggregateCapacity,
                      anonymiser: AddressAnonymiser = .disabled) -> EventPipeline {
        EventPipeline(stateDirectory: directory.path, settings: Settings.Store(), anonymiser: anonymiser, journal: nil,
                      queueCapacity: queue, aggregateCapacity: aggregates, log: { _, _ in })
    }

    /// Submits everything before the writer starts (so the queue fills deterministically), then
    /// runs the writer and stops it.
    func run(_ pipeline: EventPipeline, _ events: [UnwantedEvent]) -> Int {
        let accepted = events.filter { pipeline.submit($0) }.count
        pipeline.start()
        XCTAssertTrue(pipeline.stop(timeout: .seconds(60)))
        return accepted
    }

    func testABurstFarAboveTheMarkIsAggregatedAndEveryEventAccounted() throws {
        let count = 60_000
        let events = (0..<count).map { Self.probe($0, count: count, minutes: 2) }
        let pipeline = makePipeline(queue: 1024)
        XCTAssertEqual(pipeline.aggregationMark, 512)
        XCTAssertEqual(run(pipeline, events), count)
        let counters = pipeline.counters.snapshot
        XCTAssertEqual(counters.eventsWritten, 512, "the queue up to its mark: single events")
        XCTAssertEqual(counters.aggregated, UInt64(count - 512))
        XCTAssertEqual(pipeline.counters.lost.total, 0, "the aggregate table had room: nothing lost")
        XCTAssertEqual(counters.eventsWritten + counters.aggregated + pipeline.counters.lost.total, UInt64(count))
        // 2 networks x 3 ports x 2 minutes.
        XCTAssertEqual(counters.aggregatesWritten, 12)

        var expected: [String: Int] = [:]
        for event in events.dropFirst(512) {
            let network = event.source.description.split(separator: ".").prefix(3).joined(separator: ".") + ".0/24"
            expected["\(event.destinationPort!) \(network) \((event.timeNanos - Self.start) / Self.minute)", default: 0] += 1
        }
        let stored = try EventStore(directory: directory.path, readOnly: true).events(since: 0, limit: 100_000)
        XCTAssertEqual(stored.filter { $0.aggregated == nil }.count, 512)
        let aggregates = stored.filter { $0.aggregated != nil }
        var found: [String: Int] = [:]
        for record in aggregates {
            found["\(record.destinationPort!) \(record.source) \((record.timeNanos - Self.start) / Self.minute)"] = record.aggregated
            XCTAssertEqual(Int(record.packets), record.aggregated, "one packet per probe")
            XCTAssertNil(record.sourcePort)
            let samples = try XCTUnwrap(record.samples).split(separator: ",")
            XCTAssertEqual(samples.count, EventAggregates.sampleSize)
            let prefix = record.source.dropLast("0/24".count)
            XCTAssertTrue(samples.allSatisfy { $0.hasPrefix(prefix) }, "\(samples) from \(record.source)")
        }
        XCTAssertEqual(found, expected)
        XCTAssertTrue(EventLine.text(aggregates[0]).contains("aggregated \(aggregates[0].aggregated!)"), EventLine.text(aggregates[0]))
    }

    /// The counts people read (`status`'s events in the last hour, `top` by port and tool) count
    /// an aggregate as the events it stands for: a flood must not shrink to its row count.
    func testTheStoresCountsCountAnAggregateAsItsEvents() throws {
        let count = 6_000
        let pipeline = makePipeline(queue: 1024)
        XCTAssertEqual(run(pipeline, (0..<count).map { Self.probe($0, count: count) }), count)
        XCTAssertGreaterThan(pipeline.counters.snapshot.aggregated, 0, "the burst passed the mark")
        let store = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertEqual(try store.countsByVerdict(since: 0)[.closed], count)
        XCTAssertEqual(try store.topPorts(since: 0).map(\.events).reduce(0, +), count)
        XCTAssertEqual(try store.topTools(since: 0).map(\.events).reduce(0, +), count)
    }

    /// A flood far above `EventRateBucket.eventsPerSecond` (300,000 events a second for 0.1 s
    /// of capture time), with the writer's queue nowhere near its mark: single events are
    /// bounded by the burst plus the rate times the flood's length, the rest aggregated, and
    /// every event accounted for.
    func testAFloodAboveTheRateIsAggregatedBeforeTheQueueFills() throws {
        let count = 30_000
        let events = (0..<count).map { index in
            var event = Self.probe(index, count: count)
            event.timeNanos = Self.start + UInt64(index) * 3_333
            return event
        }
        let pipeline = makePipeline(queue: EventPipeline.defaultQueueCapacity)
        XCTAssertEqual(run(pipeline, events), count)
        let counters = pipeline.counters.snapshot
        XCTAssertLessThanOrEqual(counters.eventsWritten, EventRateBucket.burst + EventRateBucket.eventsPerSecond / 10 + 1)
        XCTAssertGreaterThanOrEqual(counters.eventsWritten, EventRateBucket.burst)
        XCTAssertEqual(pipeline.counters.lost.total, 0, "\(pipeline.counters.lost)")
        XCTAssertEqual(counters.eventsWritten + counters.aggregated, UInt64(count))
        let store = try EventStore(directory: directory.path, readOnly: true)
        // The rest in one flood block: 2 networks x 3 ports in one minute.
        XCTAssertEqual(counters.aggregatesWritten, 6)
        XCTAssertEqual(try store.count(), Int(counters.eventsWritten) + 1)
        XCTAssertEqual(try store.countsByVerdict(since: 0)[.closed], count)
    }

    /// An nmap scan of a thousand ports, twice each, in 0.1 s, then a trickle of 500 events a
    /// second for 10 s, with the writer running: every event its own row.
    func testAScanAndATrickleBelowTheRateKeepEveryEventItsOwnRow() throws {
        let pipeline = makePipeline(queue: EventPipeline.defaultQueueCapacity)
        pipeline.start()
        let scan = (0..<2_000).map { index in
            var event = Self.probe(index, count: 1)
            event.timeNanos = Self.start + UInt64(index) * 50_000
            return event
        }
        let trickle = (0..<5_000).map { index in
            var event = Self.probe(index, count: 1)
            event.timeNanos = Self.start + 100_000_000 + UInt64(index) * 2_000_000
            return event
        }
        for event in scan + trickle { XCTAssertTrue(pipeline.submit(event)) }
        XCTAssertTrue(pipeline.stop(timeout: .seconds(60)))
        let counters = pipeline.counters.snapshot
        XCTAssertEqual(counters.eventsWritten, 7_000)
        XCTAssertEqual(counters.aggregated, 0)
        let stored = try EventStore(directory: directory.path, readOnly: true).events(since: 0, limit: 10_000)
        XCTAssertEqual(stored.count, 7_000)
        XCTAssertTrue(stored.allSatisfy { $0.aggregated == nil })
    }

    /// Closed flood blocks wake the writer once a transaction's worth is ready
    /// (`EventPipeline.blocksPerTransaction`), not once each: ten blocks closed within a moment
    /// cost it no wake-up of its own (a transaction per block cost the writer more than the
    /// block), and it still writes them all.
    func testClosedBlocksWakeTheWriterPerTransactionNotPerBlock() throws {
        let pipeline = makePipeline(queue: EventPipeline.defaultQueueCapacity)
        pipeline.start()
        usleep(200_000)
        let count = Int(EventRateBucket.burst) + 10 * AggregateBlock.maximumEntries
        let before = pipeline.heartbeat.pulse.beatCount
        for index in 0..<count {
            var event = Self.probe(index, count: 1)
            // A million a second, each from its own /24: past the burst, every probe its own aggregate.
            event.timeNanos = Self.start + UInt64(index) * 1_000
            event.source = IPAddress(ipv4: 0x0A00_0000 | UInt32(index) << 8 | 1)
            XCTAssertTrue(pipeline.submit(event))
        }
        usleep(100_000)
        XCTAssertLessThan(pipeline.heartbeat.pulse.beatCount - before, 8, "the writer woke for single blocks")
        XCTAssertTrue(pipeline.stop(timeout: .seconds(60)))
        let counters = pipeline.counters.snapshot
        XCTAssertEqual(counters.eventsWritten + counters.aggregated, UInt64(count))
        XCTAssertEqual(pipeline.counters.lost.total, 0)
    }

    func testBelowTheMarkEveryEventStaysItsOwn() throws {
        let events = (0..<512).map { Self.probe($0, count: 512) }
        let pipeline = makePipeline(queue: 1024)
        XCTAssertEqual(run(pipeline, events), 512)
        let counters = pipeline.counters.snapshot
        XCTAssertEqual(counters.eventsWritten, 512)
        XCTAssertEqual(counters.aggregated, 0)
        XCTAssertEqual(counters.aggregatesWritten, 0)
        let stored = try EventStore(directory: directory.path, readOnly: true).events(since: 0, limit: 1000)
        XCTAssertEqual(stored.count, 512)
        XCTAssertTrue(stored.allSatisfy { $0.aggregated == nil && $0.samples == nil })
    }

    /// Past the mark with the table full, the queue's room beyond the mark is the last resort;
    /// past that the event is lost, counted under its own reason.
    func testAFullAggregateTableLosesWithItsOwnReason() throws {
        // Each event its own port: each would open an aggregate of its own.
        let events = (0..<20).map { index in
            var event = Self.probe(0, count: 1)
            event.destinationPort = UInt16(1000 + index)
            return event
        }
        let pipeline = makePipeline(queue: 8, aggregates: 2)
        XCTAssertEqual(pipeline.room, 8 + 2)
        XCTAssertEqual(run(pipeline, events), 8 + 2)
        let counters = pipeline.counters.snapshot
        XCTAssertEqual(counters.eventsWritten, 8)
        XCTAssertEqual(counters.aggregated, 2)
        XCTAssertEqual(pipeline.counters.lost[.aggregation], 10)
        XCTAssertEqual(pipeline.counters.lost[.queue], 0)
        XCTAssertEqual(counters.eventsWritten + counters.aggregated + pipeline.counters.lost.total, 20)
    }

    /// A block's own index (`AggregateEntryIndex`): the same 1,000 (port, network) keys three
    /// times over, past the size a block starts with, are 1,000 aggregates of 3 events each;
    /// 24 new ones fill the block (1,024), which closes, and the next opens a new block.
    func testABlocksIndexFindsEveryAggregateAgainAndAFullBlockCloses() throws {
        var table = EventAggregates(capacity: 10_000)
        func event(_ key: Int) -> UnwantedEvent {
            var event = Self.probe(0, count: 1)
            event.source = IPAddress(ipv4: 0x0A00_0000 | UInt32(key % 97) << 8 | 7)
            event.destinationPort = UInt16(1 + key)
            return event
        }
        for _ in 0..<3 { for key in 0..<1_000 { XCTAssertEqual(table.fold(event(key)), .folded) } }
        XCTAssertEqual(table.count, 1_000)
        for key in 1_000..<1_023 { XCTAssertEqual(table.fold(event(key)), .folded) }
        XCTAssertEqual(table.fold(event(1_023)), .foldedAndClosed)
        XCTAssertEqual(table.fold(event(1_024)), .folded)
        let taken = table.take()
        XCTAssertEqual(taken.map(\.aggregates), [1_024, 1])
        XCTAssertEqual(taken.map(\.events), [3_024, 1])
        let entries = try AggregateBlock.decode(taken[0].bytes).entries
        XCTAssertEqual(entries.filter { $0.port <= 1_000 }.map(\.events), Array(repeating: 3, count: 1_000))
        XCTAssertEqual(Set(entries.map(\.port)).count, 1_024)
    }

    func testAnIPv6SourceIsAggregatedByItsSlash48() throws {
        var event = Self.probe(0, count: 1)
        event.source = IPAddress("2001:db8:aa:bb::7")!
        XCTAssertEqual(EventAggregates.network(of: event.source), IPAddress("2001:db8:aa::")!)
        var table = EventAggregates(capacity: 4)
        XCTAssertEqual(table.fold(event), .folded)
        event.source = IPAddress("2001:db8:aa:cc::9")!
        XCTAssertEqual(table.fold(event), .folded)
        let taken = table.take()
        XCTAssertEqual(taken.count, 1)
        let (row, bytes) = try AddressAnonymiser.disabled.row(for: taken[0])
        XCTAssertEqual(row.source, "::/0")
        let records = try AggregateBlock.decode(bytes).records(row: row)
        XCTAssertEqual(records.count, 1)
        XCTAssertEqual(records[0].source, "2001:db8:aa::/48")
        XCTAssertEqual(records[0].samples, "2001:db8:aa:bb::7,2001:db8:aa:cc::9")
        XCTAssertEqual(records[0].aggregated, 2)
    }

    /// A flood from random sources to random ports, where every probe is its own aggregate, far
    /// past a small queue's mark: nothing is lost (main lost all but about 17,000 of them under
    /// `aggregation` once its table of 16,384 aggregates was full), every probe is stored or
    /// aggregated, and the store holds one row per block of aggregates, not one per probe.
    func testARandomSourceRandomPortFloodIsEveryProbeAccounted() throws {
        let count = 200_000
        var generator = SystemRandomNumberGenerator()
        let events = (0..<count).map { index in
            var event = Self.probe(index, count: count)
            event.source = IPAddress(ipv4: UInt32.random(in: 0x0100_0000...0xDFFF_FFFF, using: &generator))
            event.destinationPort = UInt16.random(in: 1...65535, using: &generator)
            return event
        }
        let pipeline = makePipeline(queue: 1024)
        XCTAssertEqual(run(pipeline, events), count)
        let counters = pipeline.counters.snapshot
        XCTAssertEqual(pipeline.counters.lost.total, 0, "\(pipeline.counters.lost)")
        XCTAssertEqual(counters.eventsWritten + counters.aggregated, UInt64(count))
        XCTAssertEqual(counters.eventsWritten, 512)
        let store = try EventStore(directory: directory.path, readOnly: true)
        XCTAssertLessThan(try store.count(), 512 + count / 500, "one row per block of aggregates")
        XCTAssertEqual(try store.countsByVerdict(since: 0)[.closed], count)
        XCTAssertEqual(try store.topPorts(since: 0, limit: 70_000).map(\.events).reduce(0, +), count)
        XCTAssertEqual(try store.topSources(since: 0, limit: count).map(\.events).reduce(0, +), count)
        XCTAssertEqual(try store.events(since: 0, limit: count).reduce(0) { $0 + ($1.aggregated ?? 1) }, count)
    }

    func testAnAnonymisedStoreNeverHoldsARawSampleOrNetwork() throws {
        let anonymiser = try AddressAnonymiser.load(mode: .sourceAndDestination, stateDirectory: directory.path)
        let count = 5_000
        let pipeline = makePipeline(queue: 64, anonymiser: anonymiser)
        XCTAssertEqual(run(pipeline, (0..<count).map { Self.probe($0, count: count) }), count)
        XCTAssertGreaterThan(pipeline.counters.snapshot.aggregated, 0)
        let store = try EventStore(directory: directory.path, readOnly: true)
        let rows: [String] = try store.connection.prepare("SELECT src || ' ' || coalesce(samples, '') FROM events")
            .rows([]) { $0.value(at: 0).text }
        // The queue's mark (32 single events), then one flood block: 2 networks x 3 ports.
        XCTAssertEqual(rows.count, 32 + 1)
        for row in rows {
            XCTAssertFalse(row.contains("203.0.113") || row.contains("198.51.100"), row)
        }
        let blocks = try store.blocks(since: 0)
        XCTAssertEqual(blocks.count, 1)
        XCTAssertTrue(blocks[0].block.isPseudonymised, "the block holds pseudonyms, never raw networks or samples")
        XCTAssertEqual(blocks[0].block.entries.count, 6)
        let aggregate = try XCTUnwrap(store.events(since: 0, limit: 100).first { $0.aggregated != nil })
        XCTAssertTrue(aggregate.source.hasPrefix("anon4-") && aggregate.source.hasSuffix("/24"), aggregate.source)
        XCTAssertTrue(try XCTUnwrap(aggregate.samples).split(separator: ",").allSatisfy { $0.hasPrefix("anon4-") })
    }
}
