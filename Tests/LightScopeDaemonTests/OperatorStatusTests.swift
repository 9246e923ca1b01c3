import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// `lightscope status`, the Prometheus endpoint and the run history, against the real daemon.
final class OperatorStatusTests: XCTestCase {
    private func lightscope(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonProcess.binaryPath)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["RUNTIME_DIRECTORY"] = nil
        env["STATE_DIRECTORY"] = nil
        env.merge(environment) { $1 }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func decodeReport(_ json: String) throws -> StatusReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatusReport.self, from: Data(json.utf8))
    }

    func testStatusWhileRunningAndAfterAStop() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let port = 9870 + Int.random(in: 1...500)
        let harness = try DaemonHarness(lab: lab, config: "[watchdog]\nstatus_interval = 200ms\n[metrics]\nlisten = 127.0.0.1:\(port)\n")
        defer { harness.cleanUp() }
        harness.waitForReady()
        try lab.probeHostTCP(ports: [7001, 7002])
        XCTAssertNotNil(harness.listener.wait(timeout: 3) { $0.has("WATCHDOG", "1") }.match)
        usleep(500_000)

        let text = try lightscope(["status", "--state-dir", harness.stateDirectory])
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.output.contains("pid \(harness.daemon.pid)"), text.output)
        XCTAssertTrue(text.output.contains("  \(lab.hostInterface)  capturing  "), text.output)
        XCTAssertTrue(text.output.contains("Watchdog: 2.0s (systemd), ping every 1.0s"), text.output)

        let json = try lightscope(["status", "--json", "--state-dir", harness.stateDirectory])
        XCTAssertEqual(json.status, 0, json.output)
        let report = try decodeReport(json.output)
        let daemon = try XCTUnwrap(report.daemon)
        XCTAssertEqual(daemon.pid, harness.daemon.pid)
        XCTAssertEqual(Set(daemon.loops.map(\.name)), ["runner loop", "packet loop \(lab.hostInterface)", "event writer", "metrics loop"])
        XCTAssertTrue(daemon.loops.allSatisfy { $0.heartbeatAgeNanos < 2_000_000_000 }, "\(daemon.loops)")
        XCTAssertGreaterThan(daemon.watchdog.pingsSent, 0)
        XCTAssertEqual(daemon.events.byVerdict["closed"], 2)
        XCTAssertGreaterThanOrEqual(daemon.interfaces.first?.packets ?? 0, 4)
        XCTAssertEqual(report.recentRuns.first?.pid, harness.daemon.pid)

        // The metrics endpoint, scraped from inside the daemon's namespace and checked by promtool.
        let scrape = try lab.run(in: lab.host, ["python3", "-c",
            "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:\(port)/metrics', timeout=5).read().decode())"])
        XCTAssertTrue(scrape.output.contains("lightscope_events_total{verdict=\"closed\"} 2"), scrape.output)
        XCTAssertTrue(scrape.output.contains("lightscope_packets_total{interface=\"\(lab.hostInterface)\"}"), scrape.output)
        let promtool = Process()
        promtool.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        promtool.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        promtool.standardInput = input
        promtool.standardOutput = output
        promtool.standardError = output
        try promtool.run()
        input.fileHandleForWriting.write(Data(scrape.output.utf8))
        try input.fileHandleForWriting.close()
        let lint = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        promtool.waitUntilExit()
        XCTAssertEqual(promtool.terminationStatus, 0, "promtool check metrics: \(lint)")

        harness.daemon.signal(SIGTERM)
        XCTAssertEqual(harness.daemon.waitForExit(timeout: 10), 0, harness.daemon.log)
        let stopped = try lightscope(["status", "--state-dir", harness.stateDirectory])
        XCTAssertEqual(stopped.status, 3, stopped.output)
        XCTAssertTrue(stopped.output.contains("LightScope is not running"), stopped.output)
        XCTAssertTrue(stopped.output.contains("clean stop"), stopped.output)
    }

    /// "Events: N in the last hour" is the store's count, as `events --since 1h` lists them: after
    /// a restart it still counts what the previous run found (it used to say 0).
    func testTheLastHoursEventsComeFromTheStoreAcrossARestart() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let first = try DaemonHarness(lab: lab)
        defer { first.cleanUp() }
        first.waitForReady()
        try lab.probeHostTCP(ports: [7101, 7102, 7103])
        XCTAssertNotNil(first.listener.wait(timeout: 5) { ($0.assignments["STATUS"].flatMap(StatusFigures.init)?.unwanted ?? 0) >= 3 }.match,
                        first.daemon.log)
        first.daemon.signal(SIGTERM)
        XCTAssertEqual(first.daemon.waitForExit(timeout: 10), 0, first.daemon.log)

        let second = try DaemonHarness(lab: lab, stateDirectory: first.stateDirectory)
        defer { second.cleanUp() }
        second.waitForReady()
        let text = try lightscope(["status", "--state-dir", second.stateDirectory])
        XCTAssertTrue(text.output.contains("Events: 3 in the last hour (store); this run: closed 0, unanswered 0"), text.output)
        let listed = try lightscope(["events", "--since", "1h", "--state-dir", second.stateDirectory])
        XCTAssertEqual(listed.output.split(separator: "\n").filter { $0.contains("closed") }.count, 3, listed.output)
        let json = try decodeReport(try lightscope(["status", "--json", "--state-dir", second.stateDirectory]).output)
        XCTAssertEqual(json.eventsLastHour, 3)
    }

    func testARestartAfterACrashIsExplainedAndConfirmedWithAPing() throws {
        let lab = try NamespaceLab()
        defer { lab.destroy() }
        let first = try DaemonHarness(lab: lab)
        defer { first.cleanUp() }
        first.waitForReady()
        first.daemon.signal(SIGKILL)
        _ = first.daemon.waitForExit(timeout: 5)
        // What systemd's ExecStopPost= step does after a crash.
        let recorded = try lightscope(["record-exit", "--state-dir", first.stateDirectory],
                                      environment: ["SERVICE_RESULT": "signal", "EXIT_CODE": "killed", "EXIT_STATUS": "SEGV"])
        XCTAssertEqual(recorded.status, 0, recorded.output)
        XCTAssertTrue(recorded.output.contains("ended: crash (crashed with SIGSEGV)"), recorded.output)

        let second = try DaemonHarness(lab: lab, stateDirectory: first.stateDirectory)
        defer { second.cleanUp() }
        let startup = second.waitForReady()
        let ready = try XCTUnwrap(startup.last)
        XCTAssertTrue(ready.assignments["STATUS"]?.hasPrefix("Recovered after crash: crashed with SIGSEGV (previous run") ?? false, "\(ready)")
        // The first ping follows READY=1 at once, confirming the restart worked.
        let ping = second.listener.wait(timeout: 0.5) { $0.has("WATCHDOG", "1") }.match
        XCTAssertNotNil(ping, "no WATCHDOG=1 right after READY=1")
        XCTAssertTrue(second.daemon.log.contains("Recovered after crash: crashed with SIGSEGV (previous run"), second.daemon.log)
        XCTAssertTrue(second.daemon.log.contains("restarts in the last 24h: 1)"), second.daemon.log)
        let status = try lightscope(["status", "--json", "--state-dir", second.stateDirectory])
        let runs = try decodeReport(status.output).recentRuns
        XCTAssertEqual(runs.map(\.pid), [second.daemon.pid, first.daemon.pid])
        XCTAssertEqual(runs.last?.ending, .crash)
    }
}
