import Foundation
import Glibc
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The whole daemon with its state directory on a small tmpfs that the test fills to the
/// last byte while probes arrive: events of that time are lost and counted, one error line
/// says so, capture and the watchdog go on, and storing resumes once space is freed.
/// Needs root (mount); the tmpfs is unmounted in tearDown, on failure too.
final class FullDiskDaemonTests: XCTestCase {
    private var mountPoint: String?

    override func setUpWithError() throws {
        try requireRoot()
        let path = NSTemporaryDirectory() + "lightscope-fulldisk-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, "size=8m,mode=0750") == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: path)
            throw TestFailure("cannot mount a tmpfs on \(path) (\(reason)): this test needs root")
        }
        mountPoint = path
    }

    override func tearDown() {
        guard let mountPoint else { return }
        umount2(mountPoint, Int32(MNT_DETACH))
        try? FileManager.default.removeItem(atPath: mountPoint)
    }

    func testAFullStateDirectoryCostsEventsNotTheDaemonAndWritingResumes() throws {
        let stateDirectory = try XCTUnwrap(mountPoint)
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let watchdogMicroseconds = 2_000_000
        let harness = try DaemonHarness(lab: lab, watchdogMicroseconds: watchdogMicroseconds, stateDirectory: stateDirectory)
        defer { harness.cleanUp() }
        let recorder = NotifyRecorder(harness.listener)
        defer { recorder.stop() }
        XCTAssertNotNil(recorder.wait(timeout: 10) { $0.has("READY", "1") }, harness.daemon.log)

        let storedBefore = Array(20_001...20_005)
        try lab.probeHostTCP(ports: storedBefore)
        XCTAssertTrue(try waitForSnapshot(stateDirectory, timeout: 5) { ($0.store?.eventsWritten ?? 0) >= 5 }, harness.daemon.log)

        let filler = stateDirectory + "/filler"
        try fillUp(filler)
        // Three rounds a little more than a batch interval apart: several failing commits.
        let lostPorts = Array(21_001...21_009)
        for round in 0..<3 {
            try lab.probeHostTCP(ports: Array(lostPorts[(round * 3)..<(round * 3 + 3)]))
            usleep(1_300_000)
        }
        XCTAssertTrue(harness.daemon.waitForLog("Cannot write events", timeout: 5), harness.daemon.log)
        usleep(1_000_000)
        let errorLines = harness.daemon.log.components(separatedBy: "\n").filter { $0.contains("Cannot write events") }
        XCTAssertEqual(errorLines.count, 1, "one error line, not one per batch:\n\(harness.daemon.log)")
        XCTAssertTrue(errorLines.first?.contains("disk is full") ?? false, "\(errorLines)")
        XCTAssertTrue(errorLines.first?.contains(stateDirectory) ?? false, "the line names the store: \(errorLines)")
        XCTAssertTrue(harness.daemon.isRunning)

        XCTAssertEqual(unlink(filler), 0)
        let storedAfter = Array(22_001...22_005)
        try lab.probeHostTCP(ports: storedAfter)
        XCTAssertTrue(harness.daemon.waitForLog("is writable again", timeout: 5), harness.daemon.log)
        // Lost events are counted in one place, by reason: a full disk is `disk`.
        let snapshot = try XCTUnwrap(try waitForSnapshot(stateDirectory, timeout: 5) {
            ($0.store?.eventsWritten ?? 0) >= 10 && ($0.lostEvents["disk"] ?? 0) >= 9
        } ? readSnapshot(stateDirectory) : nil, "status.json never showed the lost events: \(harness.daemon.log)")
        XCTAssertGreaterThanOrEqual(snapshot.lostEvents["disk"] ?? 0, 9)
        XCTAssertGreaterThan(snapshot.store?.errors ?? 0, 0)

        // The watchdog never noticed: pinged in time throughout, never triggered.
        let messages = recorder.messages
        XCTAssertFalse(messages.contains { $0.has("WATCHDOG", "trigger") })
        let pings = messages.filter { $0.has("WATCHDOG", "1") }.map(\.receivedAt)
        let longestGap = zip(pings, pings.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? .infinity
        XCTAssertLessThan(longestGap, Double(watchdogMicroseconds) / 1e6, "\(pings.count) pings")

        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        let closedPorts = Set(try EventStore(directory: stateDirectory, readOnly: true).events(since: 0, limit: 1000)
            .filter { $0.verdict == .closed }.compactMap(\.destinationPort).map(Int.init))
        XCTAssertEqual(closedPorts, Set(storedBefore + storedAfter), "stored before and after, lost while full")
    }

    private func readSnapshot(_ stateDirectory: String) throws -> DaemonSnapshot {
        let data = try Data(contentsOf: URL(fileURLWithPath: stateDirectory + "/run/" + RuntimeDirectory.statusFileName))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(DaemonSnapshot.self, from: data)
    }

    private func waitForSnapshot(_ stateDirectory: String, timeout: Double, _ condition: (DaemonSnapshot) -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let snapshot = try? readSnapshot(stateDirectory), condition(snapshot) { return true }
            usleep(100_000)
        } while Date() < deadline
        return false
    }

    /// Writes to `path` until the file system says ENOSPC.
    private func fillUp(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot create the filler file \(path)") }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0xAB, count: 65_536)
        var byte: UInt8 = 0xAB
        while write(descriptor, chunk, chunk.count) > 0 {}
        while write(descriptor, &byte, 1) > 0 {}
        XCTAssertEqual(errno, ENOSPC)
    }
}
