import Foundation
import LightScopeCore
@testable import LightScopeDaemon
import LightScopeStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Start-up and shutdown order of the real runner, in-process (see `RunnerHarness`).
final class RunnerLifecycleTests: XCTestCase {
    private let quickStatus = "[watchdog]\nstatus_interval = 200ms\n"

    func testStartUpOpensEverythingBeforeReadyAndPingsRightAfter() throws {
        let port = freeLoopbackPort()
        let harness = try RunnerHarness(config: quickStatus + "[metrics]\nlisten = 127.0.0.1:\(port)\n", interfaces: ["fake0", "fake1"])
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        let log = harness.log
        let ready = try XCTUnwrap(log.index(of: "notify READY=1"))
        let extend = try XCTUnwrap(log.index(of: "notify EXTEND_TIMEOUT_USEC="), "\(log.all)")
        let opened = try XCTUnwrap(log.index(of: "open fake1"), "\(log.all)")
        XCTAssertLessThan(log.index(of: "signals installed") ?? .max, extend, "signals first: a SIGTERM during start-up is not lost")
        XCTAssertLessThan(extend, opened)
        XCTAssertLessThan(opened, ready, "every capture is open before READY=1: \(log.all)")
        XCTAssertEqual(log.index(of: "notify WATCHDOG=1"), ready + 1, "the first ping follows READY=1 at once: \(log.all)")
        // What READY=1 promises is there: the status file, and metrics with figures (not 503).
        let snapshot = try XCTUnwrap(harness.snapshot, "no status file at READY=1")
        XCTAssertEqual(snapshot.interfaces.filter(\.capturing).map(\.name), ["fake0", "fake1"])
        XCTAssertEqual(Set(snapshot.loops.map(\.name)),
                       ["runner loop", "event writer", "metrics loop", "packet loop fake0", "packet loop fake1"])
        let scrape = try XCTUnwrap(httpGet(port: port), "metrics not answering at READY=1")
        XCTAssertTrue(scrape.hasPrefix("HTTP/1.1 200 OK"), scrape)
    }

    /// Captures stop first and flush their pending probes into the event writer, which then
    /// commits them before it stops: every probe pending at SIGTERM is in the store.
    func testShutdownFlushesPendingProbesIntoTheStoreBeforeTheWriterStops() throws {
        let harness = try RunnerHarness(config: quickStatus)
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        let source = try XCTUnwrap(harness.interfaces.sources(on: "fake0").last)
        let probes = 200
        source.inject((0..<probes).map { RunnerHarness.syn(port: UInt16(1000 + $0)) })
        // Pending, not yet reported: the answer timeout is 10 s.
        let deadline = Date().addingTimeInterval(5)
        while (harness.snapshot?.detection.pendingProbes ?? 0) < UInt64(probes), Date() < deadline { usleep(50_000) }
        XCTAssertEqual(harness.snapshot?.detection.pendingProbes, UInt64(probes))

        let before = harness.log.all.count
        harness.signals.send(SIGTERM)
        XCTAssertEqual(harness.waitForExit(), 0, "\(harness.log.all)")
        let stopping = try XCTUnwrap(harness.log.index(of: "notify STOPPING=1", from: before))
        XCTAssertGreaterThan(try XCTUnwrap(harness.log.index(of: "close fake0", from: before)), stopping)
        let store = try EventStore(directory: harness.stateDirectory, readOnly: true)
        XCTAssertEqual(try store.countsByVerdict(since: 0)[.unanswered], probes, "every pending probe reported and committed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.statusPath), "the status file goes with the daemon")
        XCTAssertEqual(harness.loopThreadsLeft, [], "every loop's thread has ended")
    }

    /// A start-up that fails after some loops started stops them again and exits with the
    /// problem's status; nothing keeps running in the process.
    func testAFailedStartStopsWhatItStarted() throws {
        let busy = freeLoopbackPort()
        let holder = try XCTUnwrap(listenOn(port: busy))
        defer { close(holder) }
        let harness = try RunnerHarness(config: quickStatus + "[metrics]\nlisten = 127.0.0.1:\(busy)\n")
        defer { harness.cleanUp() }
        harness.start()
        XCTAssertEqual(harness.waitForExit(), ExitCode.config.rawValue)
        XCTAssertNil(harness.log.index(of: "notify READY=1"), "\(harness.log.all)")
        XCTAssertNotNil(harness.log.index(of: "notify STATUS=Cannot listen for metrics on 127.0.0.1:\(busy)"), "\(harness.log.all)")
        XCTAssertEqual(harness.loopThreadsLeft, [], "the event writer started before metrics failed, and was stopped")
    }
}

/// A listening TCP socket on 127.0.0.1:`port`, holding it; nil if it could not bind.
func listenOn(port: UInt16) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 4) == 0 else {
        close(fd)
        return nil
    }
    return fd
}
