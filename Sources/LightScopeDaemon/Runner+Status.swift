import LightScopeCore

extension Runner {
    /// Writes the status file and hands the metrics listener the same figures.
    func publishSnapshot(_ daemon: RunningDaemon, statusText: String) {
        let snapshot = SnapshotBuilder.build(
            daemon, runner: heartbeat, startedAtNanos: startedAtNanos, statusText: statusText, restarts: thisRun.restarts,
            wallNanos: edges.clock.wallNanos(), monotonicNanos: edges.clock.monotonicNanos())
        daemon.statusFile.write(snapshot)
        daemon.metrics?.publish(snapshot)
    }
}
