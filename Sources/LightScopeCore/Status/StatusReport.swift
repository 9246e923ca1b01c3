/// What `lightscope status` prints: the daemon's live snapshot and its recent runs.
public struct StatusReport: Codable, Equatable, Sendable {
    public var running: Bool
    /// Why the daemon is not (properly) running, with what to do.
    public var problem: String?
    public var daemon: DaemonSnapshot?
    /// The latest runs first, with how each ended.
    public var recentRuns: [RunHistory.Run]
    /// Events the store holds from the last hour, whichever run found them (what
    /// `lightscope events --since 1h` lists); nil when the store could not be read.
    public var eventsLastHour: UInt64?

    public init(running: Bool, problem: String?, daemon: DaemonSnapshot?, recentRuns: [RunHistory.Run], eventsLastHour: UInt64? = nil) {
        self.running = running
        self.problem = problem
        self.daemon = daemon
        self.recentRuns = recentRuns
        self.eventsLastHour = eventsLastHour
    }

    /// Runs shown by `status`.
    public static let runsShown = 5

    /// `storeFileExists`: the reader's own look at the store's path. The daemon's figure
    /// counts a missing file as 0 bytes, and "0 KiB" for a file that is not there is false.
    public func text(nowNanos: UInt64, storeFileExists: Bool = true) -> String {
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
            let lastHour = eventsLastHour.map { "\($0) in the last hour (store)" } ?? "last hour unknown (the store cannot be read)"
            lines.append("Events: \(lastHour); this run: \(verdicts)")
            let detection = daemon.detection
            lines.append("Detection: \(detection.pendingProbes) pending probes, \(detection.scanSources) scan sources, \(detection.evictions) evictions "
                + "(\(detection.probeEvictions) probes, \(detection.scanSourceEvictions) scan sources, \(detection.slowScanEvictions) slow-scan sources)")
            lines.append("Lost events: " + StatusText.lostEvents(daemon.lostEvents))
            if let fragments = daemon.fragments {
                lines.append("Fragmented TCP headers: \(fragments.reassembled) reassembled, \(fragments.overlapping) dropped as overlapping, "
                    + "\(fragments.evicted) pushed out unfinished, \(fragments.expired) timed out")
            }
            if let store = daemon.store {
                let size = storeFileExists ? "\(store.sizeBytes / 1024) KiB" : "no file yet"
                lines.append("Store: \(store.path), \(size), \(store.eventsWritten) written, \(store.errors) errors")
                if let aggregated = store.aggregated, aggregated > 0 {
                    lines.append("Aggregated: \(aggregated) events in \(store.aggregatesWritten ?? 0) aggregate events (docs/store.md)")
                }
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
        // Names and texts come from the status file and the kernel: each line is escaped (`SafeText`).
        return lines.map(SafeText.escaped).joined(separator: "\n")
    }
}
