/// The status file's bytes for a snapshot: exactly what `JSONEncoder` with `.convertToSnakeCase`
/// and `[.sortedKeys, .prettyPrinted]` writes (the daemon's `StatusFile.encoder()`), at a small
/// part of its cost. Each type's keys are its properties in snake_case, in sorted order; a nil
/// optional is left out, as synthesized `Codable` leaves it out. A property added to a
/// snapshot type must be added here: StatusJSONTests fails until it is.
public enum StatusJSON {
    /// Above a typical file's size (about 2 KiB), so the buffer rarely grows.
    static let initialCapacityBytes = 4096

    public static func encode(_ snapshot: DaemonSnapshot) -> [UInt8] {
        var writer = PrettyJSONWriter(reservingCapacity: initialCapacityBytes)
        writer.write(snapshot)
        return writer.bytes
    }
}

extension PrettyJSONWriter {
    mutating func write(_ snapshot: DaemonSnapshot) {
        beginObject()
        key("detection"); write(snapshot.detection)
        key("events"); write(snapshot.events)
        if let fleet = snapshot.fleet { key("fleet"); write(fleet) }
        if let fragments = snapshot.fragments { key("fragments"); write(fragments) }
        key("interfaces"); beginArray()
        for interface in snapshot.interfaces { element(); write(interface) }
        endArray()
        key("loops"); beginArray()
        for loop in snapshot.loops { element(); write(loop) }
        endArray()
        key("lost_events"); value(snapshot.lostEvents)
        key("pid"); value(snapshot.pid)
        if let reload = snapshot.reload { key("reload"); write(reload) }
        key("restarts"); write(snapshot.restarts)
        key("started_at_nanos"); value(snapshot.startedAtNanos)
        key("status"); value(snapshot.status)
        if let store = snapshot.store { key("store"); write(store) }
        key("updated_at_nanos"); value(snapshot.updatedAtNanos)
        key("version"); value(snapshot.version)
        key("watchdog"); write(snapshot.watchdog)
        endObject()
    }

    private mutating func write(_ detection: DaemonSnapshot.Detection) {
        beginObject()
        key("evictions"); value(detection.evictions)
        key("pending_probes"); value(detection.pendingProbes)
        key("probe_evictions"); value(detection.probeEvictions)
        key("scan_source_evictions"); value(detection.scanSourceEvictions)
        key("scan_sources"); value(detection.scanSources)
        key("slow_scan_evictions"); value(detection.slowScanEvictions)
        endObject()
    }

    private mutating func write(_ events: DaemonSnapshot.Events) {
        beginObject()
        key("by_tool"); value(events.byTool)
        key("by_verdict"); value(events.byVerdict)
        endObject()
    }

    private mutating func write(_ fleet: DaemonSnapshot.Fleet) {
        beginObject()
        key("collector"); value(fleet.collector)
        key("connected"); value(fleet.connected)
        key("events_pending"); value(fleet.eventsPending)
        key("events_shipped"); value(fleet.eventsShipped)
        key("host_identifier"); value(fleet.hostIdentifier)
        key("host_name"); value(fleet.hostName)
        if let lastShipped = fleet.lastShippedAtNanos { key("last_shipped_at_nanos"); value(lastShipped) }
        if let oldestPending = fleet.oldestPendingAtNanos { key("oldest_pending_at_nanos"); value(oldestPending) }
        if let problem = fleet.problem { key("problem"); value(problem) }
        endObject()
    }

    private mutating func write(_ fragments: FragmentCounters) {
        beginObject()
        key("evicted"); value(fragments.evicted)
        key("expired"); value(fragments.expired)
        key("overlapping"); value(fragments.overlapping)
        key("reassembled"); value(fragments.reassembled)
        endObject()
    }

    private mutating func write(_ interface: DaemonSnapshot.Interface) {
        beginObject()
        key("bytes"); value(interface.bytes)
        key("capturing"); value(interface.capturing)
        key("drops"); value(interface.drops)
        key("malformed"); value(interface.malformed)
        key("name"); value(interface.name)
        key("packets"); value(interface.packets)
        key("packets_per_second"); value(interface.packetsPerSecond)
        key("unwanted"); value(interface.unwanted)
        endObject()
    }

    private mutating func write(_ loop: DaemonSnapshot.Loop) {
        beginObject()
        key("heartbeat_age_nanos"); value(loop.heartbeatAgeNanos)
        key("name"); value(loop.name)
        key("stalled"); value(loop.stalled)
        endObject()
    }

    private mutating func write(_ reload: DaemonSnapshot.Reload) {
        beginObject()
        key("applied"); value(reload.applied)
        key("at_nanos"); value(reload.atNanos)
        if let exitCode = reload.exitCode { key("exit_code"); value(exitCode) }
        key("generation"); value(reload.generation)
        if let problem = reload.problem { key("problem"); value(problem) }
        endObject()
    }

    private mutating func write(_ restarts: DaemonSnapshot.Restarts) {
        beginObject()
        key("by_ending"); value(restarts.byEnding)
        if let reason = restarts.lastReason { key("last_reason"); value(reason) }
        if let lastRestart = restarts.lastRestartAtNanos { key("last_restart_at_nanos"); value(lastRestart) }
        endObject()
    }

    private mutating func write(_ store: DaemonSnapshot.Store) {
        beginObject()
        if let aggregated = store.aggregated { key("aggregated"); value(aggregated) }
        if let aggregatesWritten = store.aggregatesWritten { key("aggregates_written"); value(aggregatesWritten) }
        key("errors"); value(store.errors)
        key("events_written"); value(store.eventsWritten)
        key("path"); value(store.path)
        key("size_bytes"); value(store.sizeBytes)
        endObject()
    }

    private mutating func write(_ watchdog: DaemonSnapshot.Watchdog) {
        beginObject()
        if let lastPing = watchdog.lastPingAtNanos { key("last_ping_at_nanos"); value(lastPing) }
        key("ping_interval_nanos"); value(watchdog.pingIntervalNanos)
        key("pings_sent"); value(watchdog.pingsSent)
        key("stall_limit_nanos"); value(watchdog.stallLimitNanos)
        key("stalls_detected"); value(watchdog.stallsDetected)
        if let timeout = watchdog.timeoutNanos { key("timeout_nanos"); value(timeout) }
        endObject()
    }
}
