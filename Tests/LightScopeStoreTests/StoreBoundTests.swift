import Glibc
import LightScopeCore
import LightScopeSystem
@testable import LightScopeStore
import LightScopeTestSupport
import XCTest

/// `[store] max_store_mib` holds on disk under a flood, and retention never makes the writer's
/// queue overflow while the store has room. Real SQLite files, sizes read with stat(2).
final class StoreBoundTests: XCTestCase {
    var directory: TemporaryDirectory!
    var mounted = false

    override func setUpWithError() throws { directory = try TemporaryDirectory() }
    override func tearDown() {
        if mounted { umount2(directory.path, Int32(MNT_DETACH)) }
        directory.remove()
    }

    /// The size tests write hundreds of MiB through SQLite's checkpoints; a tmpfs spares them the
    /// fsyncs of this machine's disk, which change the time taken and nothing else.
    private func useTmpfs() throws {
        guard mount("tmpfs", directory.path, "tmpfs", 0, "size=256m,mode=0700") == 0 else {
            throw TestFailure("cannot mount a tmpfs (\(String(cString: strerror(errno)))): the size tests need root")
        }
        mounted = true
    }

    /// events.sqlite, -wal and -shm together, as `du` would count them.
    private func bytesOnDisk(_ suffixes: [String] = ["", "-wal", "-shm"]) -> Int {
        suffixes.reduce(0) { total, suffix in
            var status = stat()
            return total + (stat(directory.file("events.sqlite") + suffix, &status) == 0 ? Int(status.st_size) : 0)
        }
    }

    /// A flood from many IPv6 sources: long rows, and a page of the source index per event.
    private func floodEvent(_ index: Int, random: inout SplitMix64) -> UnwantedEvent {
        UnwantedEvent(timeNanos: Sample.baseNanos + UInt64(index) * 1000, interface: "eth0", proto: .tcp,
                      source: IPAddress(high: 0x2001_0db8_0000_0000 | random.next() >> 32, low: random.next()),
                      sourcePort: UInt16(truncatingIfNeeded: random.next()), destination: IPAddress("2001:db8::1")!,
                      destinationPort: UInt16(truncatingIfNeeded: random.next()), verdict: .unanswered, packets: 1, ttl: 54,
                      tcpWindow: 64240, options: PacketBuilder.linuxSYNOptions, ports: nil, addresses: nil)
    }

    /// The writer as the pipeline drives it in a flood: full transactions, and background
    /// retention that always gives way because events are always waiting.
    func testFloodStaysWithinMaxStoreMiB() throws {
        try useTmpfs()
        var settings = Settings.Store()
        settings.maxStoreMiB = 24
        settings.maxEvents = 100_000_000
        let counters = EventCounters()
        let writer = EventWriter(databasePath: directory.file("events.sqlite"), settings: settings,
                                 anonymiser: .disabled, journal: nil, counters: counters, log: { _, _ in })
        let bound = settings.maxStoreMiB << 20
        var random = SplitMix64(seed: 17)
        var largest = 0
        var largestLog = 0
        var next = 0
        // Twice what fits: the store fills, then every batch has to make room.
        for round in 0..<30 {
            let batch = (next..<next + EventPipeline.maximumEventsPerTransaction).map { floodEvent($0, random: &random) }
            next += batch.count
            writer.write(batch, monotonicNanos: UInt64(round) * 1_000_000_000)
            largest = max(largest, bytesOnDisk())
            largestLog = max(largestLog, bytesOnDisk(["-wal", "-shm"]))
            writer.maintain(wallClockNanos: Sample.baseNanos, monotonicNanos: UInt64(round) * 1_000_000_000, shouldYield: { true }) {}
            largest = max(largest, bytesOnDisk())
            XCTAssertLessThanOrEqual(largest, bound, "round \(round): \(largest >> 10) KiB on disk, bound \(bound >> 10) KiB")
        }
        let snapshot = counters.snapshot
        XCTAssertEqual(snapshot.eventsWritten, UInt64(next), "no batch refused: the store made room for each")
        XCTAssertGreaterThan(snapshot.eventsLost, UInt64(next / 3), "the oldest events were deleted, and counted")
        let stored = try writer.store!.count()
        XCTAssertEqual(UInt64(stored), snapshot.eventsWritten - snapshot.eventsLost)
        let dataLimit = StoreLimits(settings).dataLimitBytes
        XCTAssertGreaterThan(largest, dataLimit, "the store was filled up to its limit (largest \(largest >> 10) KiB)")
        print("flood: \(next) events, \(stored) kept, largest on disk \(largest >> 10) KiB of \(bound >> 10) KiB, log at most \(largestLog >> 10) KiB")
    }

    /// An admin's `sqlite3` left inside a transaction (or a hostile reader in group adm) keeps
    /// SQLite from checkpointing, and the log grows with every batch: the store reports itself
    /// full at the bound, counts the events it cannot take, and takes them again once the
    /// reader lets go.
    func testReaderHoldingASnapshotCannotPushTheStorePastItsBound() throws {
        try useTmpfs()
        var settings = Settings.Store()
        settings.maxStoreMiB = 24
        let counters = EventCounters()
        let logs = LogCollector()
        let writer = EventWriter(databasePath: directory.file("events.sqlite"), settings: settings,
                                 anonymiser: .disabled, journal: nil, counters: counters, log: logs.log)
        var random = SplitMix64(seed: 5)
        writer.write([floodEvent(0, random: &random)], monotonicNanos: 0)
        let reader = try SQLiteConnection(path: directory.file("events.sqlite"), readOnly: true)
        try reader.execute("BEGIN")
        XCTAssertEqual(try reader.scalar("SELECT count(*) FROM events"), .integer(1))
        var largest = 0
        for round in 1...30 {
            writer.write((round * 4096..<(round + 1) * 4096).map { floodEvent($0, random: &random) }, monotonicNanos: UInt64(round) * 1_000_000_000)
            writer.maintain(wallClockNanos: Sample.baseNanos, monotonicNanos: 0, shouldYield: { true }) {}
            largest = max(largest, bytesOnDisk())
        }
        XCTAssertLessThanOrEqual(largest, settings.maxStoreMiB << 20, "\(largest >> 10) KiB on disk")
        let lost = counters.snapshot.eventsLost
        XCTAssertGreaterThan(lost, 0, "batches refused while the reader held the log")
        let errors = logs.messages(.error)
        XCTAssertEqual(errors.count, 1, "once a minute: \(errors)")
        XCTAssertTrue(errors.first?.contains("a reader keeps a transaction open") ?? false, "\(errors)")

        try reader.execute("COMMIT")
        let written = counters.snapshot.eventsWritten
        writer.write((0..<10).map { floodEvent(200_000 + $0, random: &random) }, monotonicNanos: 40_000_000_000)
        XCTAssertEqual(counters.snapshot.eventsWritten, written + 10, "writing resumes once the reader lets go")
        XCTAssertLessThanOrEqual(bytesOnDisk(), settings.maxStoreMiB << 20)
    }

    /// A store far over a lowered `max_store_mib` gives the space back to the file system.
    func testLoweredLimitShrinksTheFile() throws {
        try useTmpfs()
        var settings = Settings.Store()
        settings.maxStoreMiB = 64
        let writer = EventWriter(databasePath: directory.file("events.sqlite"), settings: settings,
                                 anonymiser: .disabled, journal: nil, counters: EventCounters(), log: { _, _ in })
        var random = SplitMix64(seed: 3)
        for round in 0..<20 {
            writer.write((round * 4096..<(round + 1) * 4096).map { floodEvent($0, random: &random) }, monotonicNanos: 0)
        }
        let before = bytesOnDisk()
        XCTAssertGreaterThan(before, 16 << 20)
        settings.maxStoreMiB = 24
        writer.reconfigure(settings: settings, anonymiser: .disabled)
        for second in 1...200 {
            let workLeft = writer.maintain(wallClockNanos: Sample.baseNanos, monotonicNanos: UInt64(second) * 1_000_000_000,
                                           shouldYield: { false }, beat: {})
            if !workLeft { break }
        }
        writer.write([floodEvent(0, random: &random)], monotonicNanos: 0)
        XCTAssertLessThanOrEqual(bytesOnDisk(), 24 << 20, "from \(before >> 10) KiB")
    }

    /// A backlog of expired events, as after lowering retention_days, while events keep arriving:
    /// the writer takes them in between retention steps and none is dropped.
    func testRetentionBacklogNeverOverflowsTheQueue() throws {
        let backlog = 300_000
        try fillWithExpiredEvents(backlog)
        var settings = Settings.Store()
        settings.retentionDays = 1
        let capacity = 4096
        let pipeline = EventPipeline(stateDirectory: directory.path, settings: settings, anonymiser: .disabled,
                                     journal: nil, queueCapacity: capacity, log: { _, _ in })
        pipeline.start()
        // 4,000 events a second for four seconds: the queue holds one second of them.
        let start = MonotonicClock.nowNanos()
        var submitted = 0
        while MonotonicClock.nowNanos() - start < 4_000_000_000 {
            for _ in 0..<40 {
                pipeline.submit(Sample.event(submitted, timeNanos: WallClock.nowNanos()))
                submitted += 1
            }
            usleep(10_000)
        }
        XCTAssertTrue(pipeline.stop(timeout: .seconds(60)))
        let snapshot = pipeline.counters.snapshot
        XCTAssertEqual(snapshot.queueDrops, 0, "retention made the queue overflow")
        XCTAssertEqual(snapshot.eventsWritten + snapshot.aggregated, UInt64(submitted))
        let remaining = try EventStore(directory: directory.path, readOnly: true).count()
        XCTAssertLessThan(remaining, backlog + submitted, "retention made progress meanwhile")
        print("retention backlog: \(backlog + submitted - remaining) expired events deleted while \(submitted) were written")
    }

    /// `count` expired events, written in one statement (far faster than the writer would).
    private func fillWithExpiredEvents(_ count: Int) throws {
        _ = try EventStore(directory: directory.path)
        let connection = try SQLiteConnection(path: directory.file("events.sqlite"), readOnly: false)
        try connection.execute("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
            INSERT INTO events (time_ns, interface, proto, src, sport, dst, dport, verdict, packets)
            SELECT 1000000 + i, 'eth0', 'tcp', printf('2001:db8::%x:%x', abs(random()) % 65536, abs(random()) % 65536), 40000, '192.0.2.1', 22, 'closed', 1 FROM n
            """)
    }
}
