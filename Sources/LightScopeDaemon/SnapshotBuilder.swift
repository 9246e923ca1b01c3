import LightScopeCore
import LightScopeStore
#if canImport(Glibc)
import Glibc
#endif

/// Gathers the runner's view of everything into one `DaemonSnapshot`.
enum SnapshotBuilder {
    static func build(startedAtNanos: UInt64, statusText: String, captures: CaptureSet, packetsPerSecond: [String: UInt64],
                      consumers: [String: DetectionConsumer], heartbeats: [Heartbeat], supervisor: WatchdogSupervisor,
                      tally: EventTally?, pipeline: EventPipeline?, restarts: DaemonSnapshot.Restarts) -> DaemonSnapshot {
        let now = WallClock.nowNanos()
        let monotonicNow = MonotonicClock.nowNanos()
        let capturing = Set(captures.capturing)
        let published = consumers.mapValues { $0.published }
        let interfaces = captures.counterSnapshots.map { counters in
            DaemonSnapshot.Interface(name: counters.interfaceName, capturing: capturing.contains(counters.interfaceName),
                                     packets: counters.packets, bytes: counters.bytes,
                                     packetsPerSecond: packetsPerSecond[counters.interfaceName] ?? 0, drops: counters.drops,
                                     unwanted: counters.unwanted, malformed: published[counters.interfaceName]??.malformed ?? 0)
        }
        let stalled = supervisor.stalledLoops
        let loops = heartbeats.map { beat in
            let pulse = beat.pulse
            return DaemonSnapshot.Loop(name: pulse.loopName,
                                       heartbeatAgeNanos: monotonicNow > pulse.lastBeatNanos ? monotonicNow - pulse.lastBeatNanos : 0,
                                       stalled: stalled.contains(pulse.loopName))
        }
        let detection = published.values.compactMap { $0?.detection }
        let timing = supervisor.timing
        let store = pipeline.map { pipeline -> DaemonSnapshot.Store in
            let counters = pipeline.counters.snapshot
            return DaemonSnapshot.Store(path: pipeline.databasePath, sizeBytes: fileSize(pipeline.databasePath) + fileSize(pipeline.databasePath + "-wal"),
                                        eventsWritten: counters.eventsWritten, eventsLost: counters.eventsLost + counters.queueDrops,
                                        errors: counters.storeErrors)
        }
        return DaemonSnapshot(
            version: LightScopeVersion.current, pid: getpid(), startedAtNanos: startedAtNanos, updatedAtNanos: now,
            status: statusText, interfaces: interfaces, loops: loops,
            watchdog: DaemonSnapshot.Watchdog(timeoutNanos: timing.systemdTimeout.map { UInt64($0.nanoseconds) },
                                              pingIntervalNanos: UInt64(timing.pingInterval.nanoseconds),
                                              stallLimitNanos: UInt64(timing.stallLimit.nanoseconds),
                                              pingsSent: supervisor.pingsSent, lastPingAtNanos: supervisor.lastPingWallNanos,
                                              stallsDetected: supervisor.stallsDetected),
            events: tally?.snapshot(atNanos: now) ?? DaemonSnapshot.Events(byVerdict: [:], lastHour: 0),
            detection: DaemonSnapshot.Detection(pendingProbes: UInt64(detection.reduce(0) { $0 + $1.pendingProbes }),
                                                scanSources: UInt64(detection.reduce(0) { $0 + $1.scanSources }),
                                                evictions: detection.reduce(0) { $0 &+ $1.evictions }),
            store: store, restarts: restarts,
            fragments: published.values.compactMap { $0?.fragments }.reduce(FragmentCounters()) { $0.adding($1) })
    }

    static func fileSize(_ path: String) -> UInt64 {
        var status = stat()
        return stat(path, &status) == 0 ? UInt64(status.st_size) : 0
    }
}
