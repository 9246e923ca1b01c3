import LightScopeCore
import LightScopeSystemd

extension Runner {
    /// Writes the status file and hands the metrics listener the same figures.
    func publishSnapshot(_ daemon: RunningDaemon, statusText: String) {
        let snapshot = SnapshotBuilder.build(
            daemon, runner: heartbeat, startedAtNanos: startedAtNanos, statusText: statusText, restarts: thisRun.restarts,
            wallNanos: edges.clock.wallNanos(), monotonicNanos: edges.clock.monotonicNanos())
        daemon.fleet?.report(snapshot)
        // Metrics first: whoever reads the status file then finds metrics at least as new.
        daemon.metrics?.publish(snapshot)
        daemon.statusFile.write(snapshot)
    }

    /// Logs once when events start being lost to a full queue, to evictions or to the fleet
    /// (retention removing what the collector has not received), naming what to change, and once
    /// when it has stopped; every lost event is counted regardless (`LostEvents`).
    func reportLosses(_ daemon: RunningDaemon, nowNanos: UInt64) {
        let lost = daemon.pipeline.counters.lost
        let scanSourceEvictions = daemon.captures.published.values.reduce(0) { $0 &+ $1.detection.scanSourceEvictions }
        let counts = [EventLossReason.queue.rawValue: lost[.queue], EventLossReason.eviction.rawValue: lost[.eviction],
                      EventLossReason.fleet.rawValue: lost[.fleet], Self.scanStateEpisode: scanSourceEvictions]
        for change in daemon.lossEpisodes.observe(counts, atNanos: nowNanos) {
            switch change {
            case .began(let name, let count):
                Log.warning(beginning(of: name, count: count, daemon))
            case .ended(let name, let count, let lastingNanos):
                let what = name == Self.scanStateEpisode ? "scan sources were evicted" : "events were lost (\(name))"
                Log.notice("Losses stopped: \(count) \(what) over \(RunHistory.formatSpan(lastingNanos)); all are counted in 'lightscope status' and the metrics")
            }
        }
    }

    static let scanStateEpisode = "scan state"

    private func beginning(of name: String, count: UInt64, _ daemon: RunningDaemon) -> String {
        let budget = "[detection] memory_budget_mib = \(daemon.settings.detection.memoryBudgetMiB)"
        let once = "logged once until it stops for \(DurationText.format(LossEpisodes.quietPeriod))"
        switch name {
        case EventLossReason.queue.rawValue:
            return "Events are being lost: the event writer's queue is full (\(daemon.pipeline.queueCapacity) events), so the store is not keeping up (a slow or failing disk, or a flood); \(count) dropped so far, counted as lost (queue) in 'lightscope status' and lightscope_events_lost_total. Check the disk with 'lightscope status'; \(once)"
        case EventLossReason.fleet.rawValue:
            let store = daemon.settings.store
            return "Events are being lost: the event store removes events the fleet collector has not received yet ([store] retention_days = \(store.retentionDays), max_events = \(store.maxEvents), max_store_mib = \(store.maxStoreMiB)); \(count) so far, counted as lost (fleet). The collector has been unreachable or slow for long: see 'lightscope status'; raise the limits to keep more; \(once)"
        case EventLossReason.eviction.rawValue:
            return "Events are being lost: detection is at its capacity (\(budget)) and evicts pending probes before their verdict; \(count) so far, counted as lost (eviction). Raise [detection] memory_budget_mib, or lower syn_answer_timeout; \(once)"
        default:
            return "Scan detection is at its capacity (\(budget)) and evicts sources with what they had counted, so a slow scan may go unreported; \(count) so far. Raise [detection] memory_budget_mib; \(once)"
        }
    }
}
