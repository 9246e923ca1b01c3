import Glibc
import LightScopeCore
import LightScopeSystem
import LightScopeStore
import XCTest

final class EventPipelineTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    func makePipeline(capacity: Int = EventPipeline.defaultQueueCapacity, aggregateCapacity: Int = EventPipeline.defaultAggregateCapacity,
                      logs: LogCollector = LogCollector()) -> EventPipeline {
        EventPipeline(stateDirectory: directory.path, settings: Settings.Store(), anonymiser: .disabled,
                      journal: nil, queueCapacity: capacity, aggregateCapacity: aggregateCapacity, log: logs.log)
    }

    /// A quiet host has an empty store to query from the start, not "no event store".
    func testStartCreatesTheStoreBeforeAnyEvent() throws {
        let pipeline = makePipeline()
        pipeline.start()
        defer { _ = pipeline.stop(timeout: .seconds(10)) }
        XCTAssertEqual(try EventStore(directory: directory.path, readOnly: true).count(), 0)
    }

    func testCommitsWithinAboutASecondWhileRunning() throws {
        let pipeline = makePipeline()
        pipeline.start()
        defer { _ = pipeline.stop(timeout: .seconds(10)) }
        for index in 0..<100 { XCTAssertTrue(pipeline.submit(Sample.event(index))) }
        let submitted = MonotonicClock.nowNanos()
        var visible = 0
        // A second connection stands in for the next start after a SIGKILL: it sees only what is committed.
        // The writer counts a batch just after committing it, so the count is awaited too.
        while visible < 100 || pipeline.counters.snapshot.eventsWritten < 100,
              MonotonicClock.nowNanos() - submitted < 5_000_000_000 {
            usleep(50_000)
            visible = (try? EventStore(directory: directory.path, readOnly: true).count()) ?? 0
        }
        XCTAssertEqual(visible, 100)
        XCTAssertLessThan(MonotonicClock.nowNanos() - submitted, 2_500_000_000, "commit interval is one second")
        XCTAssertEqual(pipeline.counters.snapshot.eventsWritten, 100)
    }

    func testStopWritesEverythingQueued() throws {
        let pipeline = makePipeline()
        pipeline.start()
        for index in 0..<20_000 { XCTAssertTrue(pipeline.submit(Sample.event(index))) }
        XCTAssertTrue(pipeline.stop(timeout: .seconds(30)))
        XCTAssertEqual(pipeline.counters.snapshot, .init(eventsWritten: 20_000, eventsLost: 0, queueDrops: 0, storeErrors: 0))
        XCTAssertEqual(try EventStore(directory: directory.path, readOnly: true).count(), 20_000)
        XCTAssertFalse(pipeline.submit(Sample.event(0)), "no events after stop")
    }

    func testFullQueueDropsAndCountsInsteadOfBlocking() {
        let pipeline = makePipeline(capacity: 8, aggregateCapacity: 0)
        let accepted = (0..<10).map { pipeline.submit(Sample.event($0)) }
        XCTAssertEqual(accepted.filter { $0 }.count, 8)
        XCTAssertEqual(pipeline.counters.snapshot.queueDrops, 2)
        XCTAssertEqual(pipeline.queuedEvents, 8)
    }

    func testHeartbeatBeatsWhileIdle() {
        let pipeline = makePipeline()
        pipeline.start()
        defer { _ = pipeline.stop(timeout: .seconds(10)) }
        let before = pipeline.heartbeat.pulse.beatCount
        usleep(2_300_000)
        XCTAssertGreaterThanOrEqual(pipeline.heartbeat.pulse.beatCount - before, 2, "wakes at least once a second")
    }

    func testReconfigureSwitchesAnonymisation() throws {
        let pipeline = makePipeline()
        pipeline.start()
        var settings = Settings.Store()
        settings.anonymise = .destination
        pipeline.reconfigure(settings: settings, anonymiser: try AddressAnonymiser.load(mode: .destination, stateDirectory: directory.path))
        usleep(1_500_000)
        pipeline.submit(Sample.event(1))
        XCTAssertTrue(pipeline.stop(timeout: .seconds(10)))
        let stored = try EventStore(directory: directory.path, readOnly: true).events(since: 0)
        XCTAssertEqual(stored.count, 1)
        XCTAssertTrue(stored[0].destination?.hasPrefix("anon4-") ?? false, "\(stored)")
    }
}
