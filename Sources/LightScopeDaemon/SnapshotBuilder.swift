import LightScopeCore
import LightScopeStore
#if canImport(Glibc)
import Glibc
#endif

/// Gathers the runner's view of everything into one `DaemonSnapshot`.
enum SnapshotBuilder {
    static func build(_ daemon: RunningDaemon, runner: Heartbeat, startedAtNanos: UInt64, statusText: String,
                      restarts: DaemonSnapshot.Restarts, wallNanos now: UInt64, monotonicNanos monotonicNow: UInt64) -> DaemonSnapshot {
        let captures = daemon.captures
        let capturing = Set(captures.capturing)
        let published = captures.published
        let packetsPerSecond = daemon.status.packetsPerSecond
        let interfaces = captures.counterSnapshots.map { counters in
            DaemonSnapshot.Interface(name: counters.interfaceName, capturing: capturing.contains(counters.interfaceName),
                                     packets: counters.packets, bytes: counters.bytes,
                                     packetsPerSecond: packetsPerSecond[counters.interfaceName] ?? 0, drops: counters.drops,
                                     unwanted: counters.unwanted, malformed: published[counters.interfaceName]?.malformed ?? 0)
        }
        let supervisor = daemon.supervisor
        let stalled = supervisor.stalledLoops
        let loops = ([runner] + daemon.loops.map(\.heartbeat)).map { beat in
            let pulse = beat.pulse
            return DaemonSnapshot.Loop(name: pulse.loopName,
                                       heartbeatAgeNanos: monotonicNow > pulse.lastBeatNanos ? monotonicNow - pulse.lastBeatNanos : 0,
                                       stalled: stalled.contains(pulse.loopName))
        }
        let detection = published.values.map(\.detection)
        let timing = supervisor.timing
        let pipeline = daemon.pipeline
        let counters = pipeline.counters.snapshot
        let store = DaemonSnapshot.Store(path: pipeline.databasePath,
                                         sizeBytes: fileSize(pipeline.databasePath) + fileSize(pipeline.databasePath + "-wal"),
                                         eventsWritten: counters.eventsWritten, errors: counters.storeErrors,
                                         aggregated: counters.aggregated, aggregatesWritten: counters.aggregatesWritten)
        return DaemonSnapshot(
            version: LightScopeVersion.current, pid: getpid(), startedAtNanos: startedAtNanos, updatedAtNanos: now,
            status: statusText, interfaces: interfaces, loops: loops,
            watchdog: DaemonSnapshot.Watchdog(timeoutNanos: timing.systemdTimeout.map { UInt64($0.nanoseconds) },
                                              pingIntervalNanos: UInt64(timing.pingInterval.nanoseconds),
                                              stallLimitNanos: UInt64(timing.stallLimit.nanoseconds),
                                              pingsSent: supervisor.pingsSent, lastPingAtNanos: supervisor.lastPingWallNanos,
                                              stallsDetected: supervisor.stallsDetected),
            events: daemon.tally.snapshot,
            detection: DaemonSnapshot.Detection(pendingProbes: UInt64(detection.reduce(0) { $0 + $1.pendingProbes }),
                                                scanSources: UInt64(detection.reduce(0) { $0 + $1.scanSources }),
                                                evictions: detection.reduce(0) { $0 &+ $1.evictions },
                                                probeEvictions: detection.reduce(0) { $0 &+ $1.probeEvictions },
                                                scanSourceEvictions: detection.reduce(0) { $0 &+ $1.scanSourceEvictions },
                                                slowScanEvictions: detection.reduce(0) { $0 &+ $1.slowScanEvictions }),
            store: store, lostEvents: pipeline.counters.lost.byReason, restarts: restarts, fleet: daemon.fleet?.snapshot,
            reload: daemon.lastReload,
            fragments: published.values.map(\.fragments).reduce(FragmentCounters()) { $0.adding($1) })
    }

    static func fileSize(_ path: String) -> UInt64 {
        var status = stat()
        return stat(path, &status) == 0 ? UInt64(status.st_size) : 0
    }
}
