import Glibc
import LightScopeCore
@testable import LightScopeStore
import Synchronization
import XCTest

/// Collects what the writer logs, so tests can count error lines.
final class LogCollector: Sendable {
    private let lines = Mutex<[(level: LogLevel, message: String)]>([])

    var log: EventWriter.LogFunction { { level, message in self.lines.withLock { $0.append((level, message)) } } }

    func messages(_ level: LogLevel) -> [String] { lines.withLock { $0.filter { $0.level == level }.map(\.message) } }
}

final class EventWriterTests: XCTestCase {
    var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() { directory.remove() }

    func testWriterAppliesRetentionSettings() throws {
        var settings = Settings.Store()
        settings.retentionDays = 1
        settings.maxEvents = 1000
        let counters = EventCounters()
        let writer = EventWriter(databasePath: directory.file("events.sqlite"), settings: settings,
                                 anonymiser: .disabled, journal: nil, counters: counters, log: { _, _ in })
        let now = Sample.baseNanos
        let twoDaysAgo = now - 2 * 86_400 * 1_000_000_000
        writer.write((0..<1500).map { Sample.event($0, timeNanos: $0 < 100 ? twoDaysAgo : now) }, monotonicNanos: 1)
        writer.maintain(wallClockNanos: now, monotonicNanos: 1, shouldYield: { false }) {}
        let store = try XCTUnwrap(writer.store)
        XCTAssertEqual(try store.count(), 1000)
        XCTAssertTrue(try store.events(since: 0, limit: 2000).allSatisfy { $0.timeNanos == now })
        XCTAssertEqual(counters.snapshot.eventsLost, 500, "deleted before retention_days to stay within max_events")
    }

    func testRetentionGivesWayToWaitingEventsUnlessTheStoreIsAtALimit() throws {
        var settings = Settings.Store()
        settings.retentionDays = 1
        settings.maxEvents = 1000
        let logs = LogCollector()
        let writer = EventWriter(databasePath: directory.file("events.sqlite"), settings: settings,
                                 anonymiser: .disabled, journal: nil, counters: EventCounters(), log: logs.log)
        let now = Sample.baseNanos
        writer.write((0..<900).map { Sample.event($0, timeNanos: now - 2 * 86_400 * 1_000_000_000) }, monotonicNanos: 1)
        XCTAssertTrue(writer.maintain(wallClockNanos: now, monotonicNanos: 1, shouldYield: { true }) {},
                      "expired events wait while new ones queue")
        XCTAssertEqual(try writer.store!.count(), 900)
        writer.write((900..<1500).map { Sample.event($0, timeNanos: now) }, monotonicNanos: 2)
        writer.maintain(wallClockNanos: now, monotonicNanos: 2, shouldYield: { true }) {}
        XCTAssertLessThanOrEqual(try writer.store!.count(), 1000, "over max_events: deletes keep pace with inserts, waiting events or not")
        XCTAssertEqual(logs.messages(.notice).count, 1, "\(logs.messages(.notice))")
        XCTAssertTrue(logs.messages(.notice)[0].contains("max_events = 1000"), logs.messages(.notice)[0])
        XCTAssertFalse(writer.maintain(wallClockNanos: now, monotonicNanos: 3, shouldYield: { false }) {})
        XCTAssertEqual(try writer.store!.count(), 600, "the expired ones go once nothing waits")
    }

    /// An idle writer looks at a store within its limits once a minute, not on every wake-up.
    func testIdleStoreIsLookedAtOnceAnIdleInterval() throws {
        var settings = Settings.Store()
        settings.retentionDays = 1
        let writer = EventWriter(databasePath: directory.file("events.sqlite"), settings: settings,
                                 anonymiser: .disabled, journal: nil, counters: EventCounters(), log: { _, _ in })
        let day: UInt64 = 86_400 * 1_000_000_000
        writer.write((0..<10).map { Sample.event($0) }, monotonicNanos: 1)
        writer.maintain(wallClockNanos: Sample.baseNanos, monotonicNanos: 1, shouldYield: { false }) {}
        XCTAssertEqual(try writer.store!.count(), 10)
        writer.maintain(wallClockNanos: Sample.baseNanos + 2 * day, monotonicNanos: 2_000_000_000, shouldYield: { false }) {}
        XCTAssertEqual(try writer.store!.count(), 10, "idle: the next look is a minute after the last")
        let minuteLater = 1 + UInt64(EventWriter.idleRetentionInterval.nanoseconds)
        writer.maintain(wallClockNanos: Sample.baseNanos + 2 * day, monotonicNanos: minuteLater, shouldYield: { false }) {}
        XCTAssertEqual(try writer.store!.count(), 0)
    }

    func testUnopenableStoreCountsLostEventsAndLogsOnceAMinute() throws {
        let counters = EventCounters()
        let logs = LogCollector()
        let missing = directory.file("not-yet")
        let writer = EventWriter(databasePath: missing + "/events.sqlite", settings: Settings.Store(),
                                 anonymiser: .disabled, journal: nil, counters: counters, log: logs.log)
        for second in 0..<90 {
            writer.write([Sample.event(second)], monotonicNanos: UInt64(second) * 1_000_000_000)
        }
        XCTAssertEqual(counters.snapshot.eventsLost, 90)
        XCTAssertEqual(counters.snapshot.storeErrors, 90)
        let errors = logs.messages(.error)
        XCTAssertEqual(errors.count, 2, "once at the first failure, once a minute later")
        XCTAssertTrue(errors[0].contains(missing), errors[0])
        XCTAssertTrue(errors[1].contains("59 more failures"), errors[1])
        XCTAssertEqual(mkdir(missing, 0o700), 0)
        writer.write([Sample.event(100)], monotonicNanos: 91_000_000_000)
        XCTAssertEqual(counters.snapshot.eventsWritten, 1)
        XCTAssertEqual(logs.messages(.notice), ["Event store \(missing)/events.sqlite is writable again; 90 events were lost while it was not"])
    }
}

final class ErrorThrottleTests: XCTestCase {
    func testAdmitsOncePerIntervalAndCountsTheRest() {
        var throttle = ErrorThrottle(interval: .seconds(60))
        XCTAssertEqual(throttle.admit(nowNanos: 0), 0)
        XCTAssertNil(throttle.admit(nowNanos: 1_000_000_000))
        XCTAssertNil(throttle.admit(nowNanos: 59_999_999_999))
        XCTAssertEqual(throttle.admit(nowNanos: 60_000_000_000), 2)
        throttle.reset()
        XCTAssertEqual(throttle.admit(nowNanos: 60_000_000_001), 0)
    }
}
