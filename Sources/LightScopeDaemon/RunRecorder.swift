import LightScopeCore
import LightScopeSystem
import LightScopeSystemd

/// This run's entry in the run history (`runs.json` in the state directory), kept up to
/// date as the run goes: opened at start, noted when a loop stalls, closed on stop.
struct RunRecorder {
    private var history = RunHistory()
    private var file: RunHistoryFile?
    /// `Recovered after watchdog timeout (...)` when the previous run did not stop cleanly.
    private(set) var recoveryLine: String?

    var restarts: DaemonSnapshot.Restarts { DaemonSnapshot.Restarts(history: history) }

    /// Opens this run, learning how the previous one ended.
    mutating func begin(stateDirectory: String, pid: Int32, atNanos now: UInt64) {
        let file = RunHistoryFile(stateDirectory: stateDirectory)
        history = file.load()
        history.begin(pid: pid, atNanos: now)
        recoveryLine = history.recoveryLine(atNanos: now)
        self.file = file
        save()
    }

    /// Why this run is about to be restarted (a stalled loop), before systemd says how it ended.
    mutating func note(_ detail: String) {
        history.noteCurrent(detail: detail)
        save()
    }

    mutating func end(_ ending: RunHistory.Ending, detail: String? = nil, exitStatus: Int32? = nil) {
        history.endCurrent(ending, atNanos: WallClock.nowNanos(), detail: detail, exitStatus: exitStatus)
        save()
    }

    private func save() {
        if let problem = file?.save(history) {
            Log.warning("Run history not saved (\(problem)); restarts will not be explained")
        }
    }
}
