/// What `lightscope status` prints: the daemon's live snapshot and its recent runs.
public struct StatusReport: Codable, Equatable, Sendable {
    public var running: Bool
    /// Why the daemon is not (properly) running, with what to do.
    public var problem: String?
    public var daemon: DaemonSnapshot?
    /// The latest runs first, with how each ended.
    public var recentRuns: [RunHistory.Run]

    public init(running: Bool, problem: String?, daemon: DaemonSnapshot?, recentRuns: [RunHistory.Run]) {
        self.running = running
        self.problem = problem
        self.daemon = daemon
        self.recentRuns = recentRuns
    }

    /// Runs shown by `status`.
    public static let runsShown = 5

    public func text(nowNanos: UInt64) -> String {
        var lines: [String] = []
        if let problem { lines.append(problem) }
        if let daemon {
            let uptime = RunHistory.formatSpan(nowNanos &- daemon.startedAtNanos)
            lines.append("LightScope \(daemon.version), pid \(daemon.pid), up \(uptime)\(running ? "" : " (not running)")")
            lines.append("Status: \(daemon.status)")
            lines.append("Interfaces:")
            if daemon.interfaces.isEmpty { lines.append("  (none yet)") }
            for interface in daemon.interfaces {
                lines.append("  \(interface.name)  \(interface.capturing ? "capturing" : "waiting")  \(interface.packets) packets  "
                    + "\(interface.packetsPerSecond) pps  \(interface.drops) dropped  \(interface.unwanted) unwanted  \(interface.malformed) malformed")
            }
            lines.append("Loops (time since last progress):")
            for loop in daemon.loops {
                lines.append("  \(loop.name)  \(StatusText.formatSeconds(loop.heartbeatAgeNanos))\(loop.stalled ? "  STALLED" : "")")
            }
            let watchdog = daemon.watchdog
            if let timeout = watchdog.timeoutNanos {
                let last = watchdog.lastPingAtNanos.map { "last ping \(StatusText.formatSeconds(nowNanos &- $0)) ago" } ?? "no ping yet"
                lines.append("Watchdog: \(StatusText.formatSeconds(timeout)) (systemd), ping every \(StatusText.formatSeconds(watchdog.pingIntervalNanos)); "
                    + "\(last); \(watchdog.pingsSent) pings, \(watchdog.stallsDetected) stalls")
            } else {
                lines.append("Watchdog: off (not started by systemd); stall limit \(StatusText.formatSeconds(watchdog.stallLimitNanos)), \(watchdog.stallsDetected) stalls")
            }
            let verdicts = Verdict.allCases.map { "\($0.rawValue) \(daemon.events.byVerdict[$0.rawValue] ?? 0)" }.joined(separator: ", ")
            lines.append("Events: \(daemon.events.lastHour) in the last hour; since start: \(verdicts)")
            lines.append("Detection: \(daemon.detection.pendingProbes) pending probes, \(daemon.detection.scanSources) scan sources, \(daemon.detection.evictions) evictions")
            if let store = daemon.store {
                lines.append("Store: \(store.path), \(store.sizeBytes / 1024) KiB, \(store.eventsWritten) written, \(store.eventsLost) lost, \(store.errors) errors")
            }
            if let fleet = daemon.fleet { lines.append(fleet.line(nowNanos: nowNanos)) }
        }
        if !recentRuns.isEmpty {
            lines.append("Recent runs:")
            for run in recentRuns {
                let started = RFC3339.format(timeNanos: run.startedAtNanos)
                let lasted = run.endedAtNanos.map { RunHistory.formatSpan($0 &- run.startedAtNanos) } ?? "running"
                let ending = run.ending?.phrase ?? (run.endedAtNanos == nil ? "running" : "?")
                lines.append("  \(started)  pid \(run.pid)  \(lasted)  \(ending)\(run.detail.map { " (\($0))" } ?? "")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
