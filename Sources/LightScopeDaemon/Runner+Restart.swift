import LightScopeCore
import LightScopeSystemd

extension Runner {
    /// How long the event writer may take to commit before a requested restart; past it, the
    /// restart is asked for anyway (systemd's own timeout is near, since the pings stopped).
    static let preRestartCommitTimeout: Duration = .seconds(2)
    /// How long to wait for systemd to act on WATCHDOG=trigger before exiting instead.
    static let restartRequestGrace: Duration = .seconds(10)

    /// A loop stalled under systemd's watchdog. WATCHDOG=trigger makes systemd abort the
    /// process at once, losing what detection holds; so first the loops that still work are
    /// stopped, which reports their pending probes (as a stop does), and the event writer
    /// commits them. A stalled packet loop cannot be flushed: its pending probes are counted
    /// lost (`interface`). What a SIGKILL or systemd's own timeout loses is in docs/robustness.md.
    func requestRestart(_ daemon: RunningDaemon) {
        let stalled = daemon.supervisor.stalledLoops
        let before = daemon.pipeline.counters.snapshot.eventsWritten
        var reported = 0
        for name in daemon.captures.capturing {
            if stalled.contains("packet loop \(name)") {
                daemon.captures.abandon(name)
            } else {
                reported += daemon.captures.close(name)
            }
        }
        var committed = "the event writer is stalled, so nothing more is committed"
        if !stalled.contains(daemon.pipeline.loopName) {
            let done = daemon.pipeline.stop(timeout: Self.preRestartCommitTimeout)
            let written = daemon.pipeline.counters.snapshot.eventsWritten &- before
            committed = done ? "\(written) events committed" : "\(written) events committed before the writer's time ran out"
        }
        Log.notice("Before the restart: \(reported) pending probes of the working capture loops reported; \(committed)")
        let status = daemon.supervisor.stallStatus ?? "Stalled"
        publishSnapshot(daemon, statusText: status)
        edges.notifier.watchdogTrigger(status: status)
        phase = .restartRequested(untilNanos: edges.clock.monotonicNanos() + UInt64(Self.restartRequestGrace.nanoseconds))
    }

    /// systemd did not act on WATCHDOG=trigger (too old, or not watching after all): exit
    /// with a failure, so that Restart= restarts what can no longer work.
    func restartNotHonoured(_ daemon: RunningDaemon) -> Int32 {
        let detail = "asked systemd for a restart (WATCHDOG=trigger), no restart came within \(DurationText.format(Self.restartRequestGrace))"
        Log.error("Exiting: \(detail)")
        daemon.statusFile.remove()
        thisRun.end(.failed, detail: detail)
        return ExitCode.failure.rawValue
    }
}
