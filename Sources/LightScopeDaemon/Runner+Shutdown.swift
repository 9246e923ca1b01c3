import LightScopeCore
import LightScopeSystemd

extension Runner {
    /// Stops every loop in the reverse of start order (see `RunningDaemon`) and says how it went.
    func shutdown(_ daemon: RunningDaemon) -> Int32 {
        edges.notifier.stopping(status: "Stopping: closing captures and flushing pending data")
        Log.info("Stopping: closing captures and flushing pending data")
        let hung = daemon.stopAll()
        daemon.statusFile.remove()
        if !hung.isEmpty {
            let what = hung.joined(separator: ", ")
            Log.error("Stopped with hung loops: \(what)")
            thisRun.end(.failed, detail: "hung at stop: \(what)")
            return ExitCode.failure.rawValue
        }
        let totals = StatusText.sum(daemon.captures.counterSnapshots)
        let stored = daemon.pipeline.counters.snapshot
        let lost = StatusText.lostEvents(daemon.pipeline.counters.lost.byReason)
        let aggregated = stored.aggregated > 0 ? " and \(stored.aggregated) aggregated in \(stored.aggregatesWritten)" : ""
        thisRun.end(.clean)
        Log.info("Stopped cleanly: \(totals.packets) packets seen, \(totals.unwanted) unwanted, \(totals.drops) dropped; \(stored.eventsWritten) events stored\(aggregated); events lost: \(lost)")
        return ExitCode.success.rawValue
    }
}
