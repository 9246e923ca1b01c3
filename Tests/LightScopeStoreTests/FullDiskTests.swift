import Glibc
import LightScopeCore
@testable import LightScopeStore
import LightScopeTestSupport
import XCTest

/// A real full disk: a 256 KiB tmpfs holding the store, filled to the last byte.
/// Needs root (mount); skipped otherwise. The tmpfs is unmounted in tearDown even on failure.
final class FullDiskTests: XCTestCase {
    var directory: TemporaryDirectory!
    var mounted = false

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        guard mount("tmpfs", directory.path, "tmpfs", 0, "size=256k,mode=0700") == 0 else {
            let reason = String(cString: strerror(errno))
            directory.remove()
            throw TestFailure("cannot mount a tmpfs (\(reason)): the full-disk test needs root")
        }
        mounted = true
    }

    override func tearDown() {
        if mounted { umount2(directory.path, Int32(MNT_DETACH)) }
        directory.remove()
    }

    func testFullDiskLosesEventsLogsOnceAndResumesWhenSpaceReturns() throws {
        let counters = EventCounters()
        let logs = LogCollector()
        let databasePath = directory.file("events.sqlite")
        let writer = EventWriter(databasePath: databasePath, settings: Settings.Store(), anonymiser: .disabled,
                                 journal: nil, counters: counters, log: logs.log)
        writer.write((0..<10).map { Sample.event($0) }, monotonicNanos: 0)
        XCTAssertEqual(counters.snapshot.eventsWritten, 10)

        let filler = directory.file("filler")
        try fillUp(filler)
        for second in 1...5 {
            writer.write((0..<500).map { Sample.event($0) }, monotonicNanos: UInt64(second) * 1_000_000_000)
        }
        XCTAssertEqual(counters.snapshot.eventsWritten, 10)
        XCTAssertEqual(counters.snapshot.eventsLost, 2500)
        XCTAssertEqual(counters.snapshot.storeErrors, 5)
        let errors = logs.messages(.error)
        XCTAssertEqual(errors.count, 1, "one error line, not one per batch: \(errors)")
        XCTAssertTrue(errors.first?.contains(databasePath) ?? false, "\(errors)")
        XCTAssertTrue(errors.first?.contains("disk is full") ?? false, "\(errors)")

        XCTAssertEqual(unlink(filler), 0)
        writer.write((10..<20).map { Sample.event($0) }, monotonicNanos: 6_000_000_000)
        XCTAssertEqual(counters.snapshot.eventsWritten, 20)
        XCTAssertEqual(logs.messages(.notice).count, 1)
        writer.close()
        let stored = try EventStore(path: databasePath, readOnly: true).events(since: 0, limit: 100)
        XCTAssertEqual(stored, (0..<20).map { EventRecord(Sample.event($0)) })
    }

    /// Writes to `path` until the file system says ENOSPC.
    private func fillUp(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot create the filler file") }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0xAB, count: 4096)
        var small = [UInt8](repeating: 0xAB, count: 1)
        while write(descriptor, chunk, chunk.count) > 0 {}
        while write(descriptor, &small, 1) > 0 {}
        XCTAssertEqual(errno, ENOSPC)
    }
}
