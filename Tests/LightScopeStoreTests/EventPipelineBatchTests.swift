import LightScopeCore
@testable import LightScopeStore
import LightScopeTestSupport
import XCTest

/// `EventPipeline.submit(contentsOf:)`, a packet loop's hand-over of many events under one
/// lock, decides every event as `submit` of each in turn would: the same rows, the same flood
/// blocks byte for byte, the same counts and losses. A real pipeline and a real SQLite store.
final class EventPipelineBatchTests: XCTestCase {
    var directories: [TemporaryDirectory] = []

    override func tearDown() { directories.forEach { $0.remove() } }

    func makePipeline(queue: Int, aggregates: Int) throws -> EventPipeline {
        let directory = try TemporaryDirectory()
        directories.append(directory)
        return EventPipeline(stateDirectory: directory.path, settings: Settings.Store(), anonymiser: .disabled, journal: nil,
                             queueCapacity: queue, aggregateCapacity: aggregates, log: { _, _ in })
    }

    /// Random events that take every way through the pipeline: bursts far above the rate and
    /// pauses below it (the bucket refills), events older than the newest (an unanswered
    /// probe's), a queue past its mark (the second trigger), an aggregate table full (the queue
    /// beyond the mark, then lost), IPv4 and IPv6 sources, scan events without ports, several
    /// destinations, verdicts and minutes.
    static func events(count: Int, seed: UInt64) -> [UnwantedEvent] {
        var random = SplitMix64(seed: seed)
        var time = Sample.baseNanos / 60_000_000_000 * 60_000_000_000
        return (0..<count).map { _ in
            switch random.next(below: 1_000) {
            case 0..<5: time += 50_000_000 // a pause: the bucket takes 50 more
            case 5..<100: time += 1_000_000 // 1,000 a second: at the rate
            default: time += UInt64(random.next(below: 5_000)) // a flood
            }
            let older = random.next(below: 10) == 0 ? UInt64(random.next(below: 10_000_000_000)) : 0
            let verdict = [Verdict.closed, .unanswered, .unanswered, .unanswered, .portscan][random.next(below: 5)]
            let source = random.next(below: 8) == 0
                ? IPAddress(high: 0x2001_0DB8_0000_0000 | UInt64(random.next(below: 4)) << 16, low: random.next())
                : IPAddress(ipv4: 0x0A00_0000 | UInt32(random.next(below: 1 << 14)) << 10 | UInt32(random.next(below: 256)))
            return UnwantedEvent(timeNanos: time - min(older, time), interface: "eth0",
                                 proto: .tcp, source: source, sourcePort: verdict == .portscan ? nil : UInt16(random.next(below: 65536)),
                                 destination: IPAddress(ipv4: 0xC000_0201 + UInt32(random.next(below: 2))),
                                 destinationPort: verdict == .portscan ? nil : UInt16(1 + random.next(below: 40)),
                                 verdict: verdict, packets: UInt32(1 + random.next(below: 3)), ttl: 54, tcpWindow: 1024,
                                 ports: verdict == .portscan ? 30 : nil, tool: .unknown, tcpFlags: .syn)
        }
    }

    /// Everything the pipeline holds and counts before its writer runs, then everything it
    /// stored: every row's columns, the single events in the order written, then the flood
    /// blocks (their bytes in hex) in the order written: blocks close in the order they
    /// were opened, so the same events make the same rows in the same order.
    func outcome(_ pipeline: EventPipeline, accepted: Int) throws -> [String] {
        var lines = ["accepted \(accepted)", "queued \(pipeline.queuedEvents)", "aggregates \(pipeline.openAggregates)"]
        lines += EventLossReason.allCases.map { "lost \($0) \(pipeline.counters.lost[$0])" }
        pipeline.start()
        XCTAssertTrue(pipeline.stop(timeout: .seconds(60)))
        let counters = pipeline.counters.snapshot
        lines.append("written \(counters.eventsWritten) aggregated \(counters.aggregated) in \(counters.aggregatesWritten)")
        let store = try EventStore(directory: String(pipeline.databasePath.dropLast(EventStore.fileName.count + 1)), readOnly: true)
        let columns = (EventField.allCases.map(\.storeColumn) + [EventStore.blockColumn]).map { "quote(\($0))" }
            .joined(separator: " || ' ' || ")
        lines += try store.connection.prepare("SELECT \(columns) FROM events WHERE \(EventStore.blockColumn) IS NULL ORDER BY id")
            .rows([]) { $0.value(at: 0).text }
        lines += try store.connection.prepare("SELECT \(columns) FROM events WHERE \(EventStore.blockColumn) IS NOT NULL ORDER BY id")
            .rows([]) { $0.value(at: 0).text }
        return lines
    }

    func testABatchIsDecidedAsItsEventsOneByOne() throws {
        for seed: UInt64 in 1...4 {
            let events = Self.events(count: 40_000, seed: seed)
            // The rate decides for the first half or so; then the queue passes its mark (the
            // second trigger), and at about two thirds the aggregate table is full.
            let single = try makePipeline(queue: 8_192, aggregates: 20_000)
            let accepted = events.filter { single.submit($0) }.count
            let batched = try makePipeline(queue: 8_192, aggregates: 20_000)
            var random = SplitMix64(seed: seed)
            var batchAccepted = 0
            var start = 0
            while start < events.count {
                let end = min(events.count, start + random.next(below: 300))
                batchAccepted += batched.submit(contentsOf: Array(events[start..<end]))
                start = end
            }
            let expected = try outcome(single, accepted: accepted)
            let found = try outcome(batched, accepted: batchAccepted)
            XCTAssertEqual(found.count, expected.count, "seed \(seed)")
            for (line, (found, expected)) in zip(found, expected).enumerated() where found != expected {
                XCTFail("seed \(seed), line \(line): \(found) instead of \(expected)")
                break
            }
            // The ways through: single rows, aggregates, the table full and events lost.
            XCTAssertGreaterThan(single.counters.snapshot.eventsWritten, 0, "seed \(seed)")
            XCTAssertGreaterThan(single.counters.snapshot.aggregated, 0, "seed \(seed)")
            XCTAssertGreaterThan(single.counters.lost[.aggregation], 0, "seed \(seed)")
        }
    }

    /// A stopping pipeline drops a batch whole, each event counted (`queue`).
    func testAStoppedPipelineCountsEveryEventOfABatchDropped() throws {
        let pipeline = try makePipeline(queue: 64, aggregates: 1_000)
        pipeline.start()
        XCTAssertTrue(pipeline.stop(timeout: .seconds(60)))
        XCTAssertEqual(pipeline.submit(contentsOf: Self.events(count: 10, seed: 9)), 0)
        XCTAssertEqual(pipeline.counters.lost[.queue], 10)
    }
}
