import LightScopeCore
import XCTest

final class RunHistoryTests: XCTestCase {
    let second: UInt64 = 1_000_000_000

    func testSystemdsVariablesMapToEndings() {
        XCTAssertEqual(RunHistory.ending(serviceResult: "watchdog", exitCode: "killed", exitStatus: "ABRT").0, .watchdog)
        XCTAssertEqual(RunHistory.ending(serviceResult: "success", exitCode: "exited", exitStatus: "0").0, .clean)
        XCTAssertEqual(RunHistory.ending(serviceResult: "signal", exitCode: "killed", exitStatus: "SEGV").0, .crash)
        XCTAssertEqual(RunHistory.ending(serviceResult: "core-dump", exitCode: "dumped", exitStatus: "SEGV").0, .crash)
        XCTAssertEqual(RunHistory.ending(serviceResult: "signal", exitCode: "killed", exitStatus: "KILL").0, .killed)
        let failed = RunHistory.ending(serviceResult: "exit-code", exitCode: "exited", exitStatus: "78")
        XCTAssertEqual(failed.0, .failed)
        XCTAssertEqual(failed.1, "exited with status 78 (exit-code)")
        XCTAssertEqual(RunHistory.ending(serviceResult: nil, exitCode: nil, exitStatus: nil).0, .unknown)
    }

    func testAWatchdogRestartIsExplainedAtTheNextStart() {
        var history = RunHistory()
        history.begin(pid: 10, atNanos: 0)
        history.noteCurrent(detail: "packet loop eth0 stalled for 31.0s")
        history.recordExit(serviceResult: "watchdog", exitCode: "killed", exitStatus: "ABRT", atNanos: 11_520 * second)
        history.begin(pid: 11, atNanos: 11_531 * second)
        XCTAssertEqual(history.recoveryLine(atNanos: 11_531 * second),
                       "Recovered after watchdog timeout: packet loop eth0 stalled for 31.0s; systemd watchdog, killed with SIGABRT (previous run 3h12m, restarts in the last 24h: 1)")
        XCTAssertEqual(history.count(of: .watchdog), 1)
    }

    func testACleanStopIsNotARestartAndExecStopPostDoesNotOverwriteIt() {
        var history = RunHistory()
        history.begin(pid: 10, atNanos: 0)
        history.endCurrent(.clean, atNanos: 5 * second)
        history.recordExit(serviceResult: "success", exitCode: "exited", exitStatus: "0", atNanos: 6 * second)
        XCTAssertEqual(history.runs.last?.ending, .clean)
        history.begin(pid: 11, atNanos: 10 * second)
        XCTAssertNil(history.recoveryLine(atNanos: 10 * second))
        XCTAssertEqual(history.restarts(withinNanos: 86_400 * second, ofNanos: 10 * second), [])
    }

    func testAVanishedRunIsUnexplainedAndHistoryIsBounded() {
        var history = RunHistory()
        for index in 0..<(RunHistory.capacity + 10) {
            history.begin(pid: Int32(index), atNanos: UInt64(index) * 60 * second)
        }
        XCTAssertEqual(history.runs.count, RunHistory.capacity)
        XCTAssertEqual(history.previousRun?.ending, .unknown)
        XCTAssertTrue(history.recoveryLine(atNanos: UInt64(RunHistory.capacity + 10) * 60 * second)?.hasPrefix("Recovered after unexplained stop") ?? false)
    }

    /// systemd does not restart after exit 77 or 78 (RestartPreventExitStatus=): the next run
    /// is the operator's start, not a restart, and NRestarts does not count it either.
    func testAConfigErrorExitIsNotARestart() {
        var history = RunHistory()
        history.begin(pid: 1, atNanos: 0)
        history.recordExit(serviceResult: "signal", exitCode: "killed", exitStatus: "SEGV", atNanos: second)
        history.begin(pid: 2, atNanos: 2 * second)
        history.endCurrent(.failed, atNanos: 3 * second, detail: "invalid config", exitStatus: 78)
        history.recordExit(serviceResult: "exit-code", exitCode: "exited", exitStatus: "78", atNanos: 3 * second)
        history.begin(pid: 3, atNanos: 60 * second)
        history.recordExit(serviceResult: "exit-code", exitCode: "exited", exitStatus: "1", atNanos: 61 * second)
        history.begin(pid: 4, atNanos: 70 * second)
        XCTAssertEqual(history.runs.map(\.exitStatus), [nil, 78, 1, nil])
        XCTAssertEqual(history.restarts(withinNanos: 86_400 * second, ofNanos: 70 * second).map(\.pid), [1, 3])
        XCTAssertEqual(history.count(of: .failed), 1, "the exit 1 was restarted, the exit 78 was not")
        XCTAssertTrue(history.recoveryLine(atNanos: 70 * second)?.hasSuffix("restarts in the last 24h: 2)") ?? false,
                      history.recoveryLine(atNanos: 70 * second) ?? "")
    }

    func testRestartsCountOnlyTheLastDay() {
        var history = RunHistory()
        history.begin(pid: 1, atNanos: 0)
        history.recordExit(serviceResult: "signal", exitCode: "killed", exitStatus: "SEGV", atNanos: second)
        history.begin(pid: 2, atNanos: 2 * second)
        history.recordExit(serviceResult: "watchdog", exitCode: "killed", exitStatus: "ABRT", atNanos: 90_000 * second)
        history.begin(pid: 3, atNanos: 90_010 * second)
        XCTAssertEqual(history.restarts(withinNanos: 86_400 * second, ofNanos: 90_010 * second).map(\.pid), [2])
        XCTAssertEqual(RunHistory.formatSpan(3 * 3600 * second + 12 * 60 * second), "3h12m")
        XCTAssertEqual(RunHistory.formatSpan(245 * second), "4m05s")
    }

    func testSnapshotRestartsAndTheirMetrics() {
        var history = RunHistory()
        history.begin(pid: 1, atNanos: 0)
        history.recordExit(serviceResult: "watchdog", exitCode: "killed", exitStatus: "ABRT", atNanos: 7 * second)
        history.begin(pid: 2, atNanos: 8 * second)
        let restarts = DaemonSnapshot.Restarts(history: history)
        XCTAssertEqual(restarts.byEnding["watchdog"], 1)
        XCTAssertEqual(restarts.lastRestartAtNanos, 7 * second)
        XCTAssertEqual(restarts.lastReason, "watchdog timeout")
    }
}
