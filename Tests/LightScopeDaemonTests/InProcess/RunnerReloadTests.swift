import Foundation
import LightScopeCore
@testable import LightScopeDaemon
import LightScopeSystemd
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP applies a new config fully, or rejects it and keeps the old one whole.
final class RunnerReloadTests: XCTestCase {
    private func config(metricsPort: UInt16, interfaces: String = "fake0", level: String = "info",
                        pingInterval: String = "500ms") -> String {
        """
        [capture]
        interfaces = \(interfaces)
        [watchdog]
        status_interval = 200ms
        ping_interval = \(pingInterval)
        [metrics]
        listen = 127.0.0.1:\(metricsPort)
        [log]
        level = \(level)

        """
    }

    func testAReloadAppliesEverythingAtOnce() throws {
        let (before, after) = (freeLoopbackPort(), freeLoopbackPort())
        let harness = try RunnerHarness(config: config(metricsPort: before), interfaces: ["fake0", "fake1"])
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        try harness.rewriteConfig(config(metricsPort: after, interfaces: "fake0, fake1", level: "debug", pingInterval: "800ms"))
        XCTAssertNotNil(harness.reload(), "\(harness.log.all)")

        XCTAssertEqual(Log.level, .debug)
        XCTAssertNil(httpGet(port: before), "the old listener is closed")
        let scrape = try XCTUnwrap(httpGet(port: after), "the new listener answers at once")
        XCTAssertTrue(scrape.hasPrefix("HTTP/1.1 200 OK"), "figures at once, not 503 until the next status interval: \(scrape)")
        let snapshot = try XCTUnwrap(harness.snapshot)
        XCTAssertEqual(snapshot.watchdog.pingIntervalNanos, 800_000_000)
        XCTAssertEqual(snapshot.interfaces.filter(\.capturing).map(\.name), ["fake0", "fake1"])
        // A new ping interval changes the loops' wake-up: fake0 is reopened with it.
        let fake0 = harness.interfaces.sources(on: "fake0")
        XCTAssertTrue(fake0.first?.isClosed ?? false)
        XCTAssertEqual(fake0.filter { !$0.isClosed }.count, 1, "one capture open on fake0")
    }

    /// The last step of a reload fails (no privileges for a new interface): nothing of the new
    /// config is in force, not its log level, metrics listener, timing or captures.
    func testAReloadThatCannotOpenACaptureRollsBackEverything() throws {
        let (before, after) = (freeLoopbackPort(), freeLoopbackPort())
        let harness = try RunnerHarness(config: config(metricsPort: before), interfaces: ["fake0", "denied0"])
        defer { harness.cleanUp() }
        harness.interfaces.deny("denied0")
        harness.startAndWaitForReady()
        try harness.rewriteConfig(config(metricsPort: after, interfaces: "fake0, denied0", level: "debug", pingInterval: "800ms"))
        let from = harness.log.all.count
        XCTAssertNotNil(harness.reload(), "\(harness.log.all)")

        XCTAssertNotNil(harness.log.index(of: "open denied denied0", from: from), "\(harness.log.all)")
        XCTAssertEqual(Log.level, .info)
        XCTAssertNil(httpGet(port: after), "the new listener was never left open")
        XCTAssertTrue(httpGet(port: before)?.hasPrefix("HTTP/1.1 200 OK") ?? false, "the old listener still serves")
        XCTAssertEqual(harness.snapshot?.watchdog.pingIntervalNanos, 500_000_000)
        let fake0 = harness.interfaces.sources(on: "fake0")
        XCTAssertFalse(fake0.first?.isClosed ?? true, "the running capture was not touched")
        XCTAssertEqual(fake0.filter { !$0.isClosed }.count, 1, "one capture open on fake0")
        XCTAssertNil(harness.log.index(of: "notify STOPPING=1"), "still running: \(harness.log.all)")
        XCTAssertNotNil(harness.log.wait(for: "notify WATCHDOG=1", from: harness.log.all.count), "still pinging")
    }

    /// The new listener binds before the old one stops: a busy port rejects the reload and
    /// leaves metrics as they were (it used to leave no metrics at all).
    func testABusyMetricsPortRejectsTheReloadAndTheOldListenerStays() throws {
        let (before, busy) = (freeLoopbackPort(), freeLoopbackPort())
        let holder = try XCTUnwrap(listenOn(port: busy))
        defer { close(holder) }
        let harness = try RunnerHarness(config: config(metricsPort: before))
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        try harness.rewriteConfig(config(metricsPort: busy, level: "debug"))
        XCTAssertNotNil(harness.reload(), "\(harness.log.all)")
        XCTAssertTrue(httpGet(port: before)?.hasPrefix("HTTP/1.1 200 OK") ?? false, "the old listener still serves")
        XCTAssertEqual(Log.level, .info)
    }

    /// `interfaces = fake0, fake0` trapped in Dictionary(uniqueKeysWithValues:) and killed a
    /// running daemon on SIGHUP; now it is a rejected reload.
    func testDuplicateInterfacesOnReloadAreRejectedAndTheOldConfigStays() throws {
        let port = freeLoopbackPort()
        let harness = try RunnerHarness(config: config(metricsPort: port))
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        try harness.rewriteConfig(config(metricsPort: port, interfaces: "fake0, fake0", level: "debug"))
        XCTAssertNotNil(harness.reload(), "\(harness.log.all)")
        XCTAssertEqual(Log.level, .info)
        XCTAssertEqual(harness.interfaces.sources(on: "fake0").map(\.isClosed), [false], "nothing opened or closed")
        XCTAssertNotNil(harness.log.wait(for: "notify WATCHDOG=1", from: harness.log.all.count), "still running")
    }

    func testDuplicateInterfacesAtStartExitWithAConfigErrorNamingBoth() throws {
        let inConfig = try RunnerHarness(config: "[capture]\ninterfaces = fake0, fake1, fake0\n", interfaces: ["fake0", "fake1"])
        defer { inConfig.cleanUp() }
        inConfig.start()
        XCTAssertEqual(inConfig.waitForExit(), ExitCode.config.rawValue)
        let status = try XCTUnwrap(inConfig.log.index(of: "notify STATUS=").map { inConfig.log.all[$0] })
        XCTAssertTrue(status.contains("[capture] interfaces names fake0 twice (entries 1 and 3)"), status)

        let onCommandLine = try RunnerHarness(config: "", commandLineInterfaces: ["fake0", "fake0"])
        defer { onCommandLine.cleanUp() }
        onCommandLine.start()
        XCTAssertEqual(onCommandLine.waitForExit(), ExitCode.config.rawValue)
        let line = try XCTUnwrap(onCommandLine.log.index(of: "notify STATUS=").map { onCommandLine.log.all[$0] })
        XCTAssertTrue(line.contains("--interface fake0 is given twice (the first and the second --interface)"), line)
    }

    /// At start-up the unit is not active, so `systemctl reload` cannot work: the advice is a restart.
    func testAConfigErrorAtStartAdvisesARestartNotAReload() throws {
        let harness = try RunnerHarness(config: "[watchdog]\nstatus_interval = often\n", environment: ["INVOCATION_ID": "0123"])
        defer { harness.cleanUp() }
        harness.start()
        XCTAssertEqual(harness.waitForExit(), ExitCode.config.rawValue)
        let status = try XCTUnwrap(harness.log.index(of: "notify STATUS=").map { harness.log.all[$0] })
        XCTAssertTrue(status.contains("line 2"), status)
        XCTAssertTrue(status.hasSuffix("Once fixed, start LightScope again: systemctl restart lightscope"), status)
        XCTAssertFalse(status.contains("systemctl reload"), status)
    }
}

/// `lightscope reload` (the unit's ExecReload=): the outcome of the reload it asked for.
final class ReloadRequestTests: XCTestCase {
    private func request(_ harness: RunnerHarness) -> ReloadRequest {
        ReloadRequest(statusPath: harness.statusPath, timeout: .seconds(10)) { _ in
            harness.signals.send(SIGHUP)
            return 0
        }
    }

    func testAnAppliedReloadExitsZeroAndARejectedOneSaysWhyWithExit78() throws {
        let harness = try RunnerHarness(config: "[watchdog]\nstatus_interval = 200ms\n")
        defer { harness.cleanUp() }
        harness.startAndWaitForReady()
        XCTAssertNil(harness.snapshot?.reload, "no reload yet")

        try harness.rewriteConfig("[watchdog]\nstatus_interval = 300ms\n")
        let applied = request(harness).run(pid: nil)
        XCTAssertEqual(applied.exitCode, 0, applied.message)
        XCTAssertTrue(applied.message.hasPrefix("Configuration reloaded (pid \(getpid()), reload 1)"), applied.message)

        try harness.rewriteConfig("[watchdog]\nstatus_interval = often\n")
        let rejected = request(harness).run(pid: getpid())
        XCTAssertEqual(rejected.exitCode, ExitCode.config.rawValue, rejected.message)
        XCTAssertTrue(rejected.message.hasPrefix("Reload rejected, the previous configuration stays in force: invalid config"), rejected.message)
        XCTAssertTrue(rejected.message.contains("line 2: status_interval: 'often'"), rejected.message)
        XCTAssertEqual(harness.snapshot?.reload?.generation, 2)

        // The next good one is in force again, and says so.
        try harness.rewriteConfig("[watchdog]\nstatus_interval = 200ms\n")
        XCTAssertEqual(request(harness).run(pid: nil).exitCode, 0)
    }

    func testNoDaemonAndNoAnswerAreFailuresThatSaySo() throws {
        let harness = try RunnerHarness(config: "")
        defer { harness.cleanUp() }
        let none = request(harness).run(pid: nil)
        XCTAssertEqual(none.exitCode, ExitCode.failure.rawValue)
        XCTAssertTrue(none.message.hasPrefix("LightScope is not running: no status file at \(harness.statusPath)"), none.message)

        harness.startAndWaitForReady()
        // A daemon that never answers: the signal goes nowhere.
        let deaf = ReloadRequest(statusPath: harness.statusPath, timeout: .milliseconds(300)) { _ in 0 }.run(pid: nil)
        XCTAssertEqual(deaf.exitCode, ExitCode.failure.rawValue)
        XCTAssertTrue(deaf.message.hasPrefix("No answer from LightScope (pid \(getpid())) within 300ms"), deaf.message)
        let wrong = request(harness).run(pid: 1)
        XCTAssertTrue(wrong.message.contains("is from pid \(getpid()), not 1"), wrong.message)
    }
}
