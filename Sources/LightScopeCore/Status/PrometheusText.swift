/// The Prometheus text exposition format (version 0.0.4) of a `DaemonSnapshot`.
/// Names follow Prometheus conventions: `lightscope_` prefix, base units, `_total` counters.
public enum PrometheusText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ snapshot: DaemonSnapshot) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        func label(_ pairs: (String, String)...) -> String {
            "{" + pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        let interfaces = snapshot.interfaces
        family("lightscope_build_info", "gauge", "Version of the running daemon.", [(label(("version", snapshot.version)), "1")])
        family("lightscope_start_time_seconds", "gauge", "When the daemon started, seconds since the epoch.",
               [("", seconds(snapshot.startedAtNanos))])
        family("lightscope_status_updated_time_seconds", "gauge", "When these figures were taken, seconds since the epoch.",
               [("", seconds(snapshot.updatedAtNanos))])
        family("lightscope_interface_capturing", "gauge", "1 while a capture handle is open on the interface.",
               interfaces.map { (label(("interface", $0.name)), $0.capturing ? "1" : "0") })
        family("lightscope_packets_total", "counter", "Packets captured (after the kernel filter).",
               interfaces.map { (label(("interface", $0.name)), "\($0.packets)") })
        family("lightscope_bytes_total", "counter", "Bytes on the wire of the captured packets.",
               interfaces.map { (label(("interface", $0.name)), "\($0.bytes)") })
        family("lightscope_drops_total", "counter", "Packets the kernel dropped before capture (pcap_stats).",
               interfaces.map { (label(("interface", $0.name)), "\($0.drops)") })
        family("lightscope_malformed_packets_total", "counter", "Captured packets the decoder rejected as malformed.",
               interfaces.map { (label(("interface", $0.name)), "\($0.malformed)") })
        family("lightscope_events_total", "counter", "Unwanted-traffic events by verdict.",
               Verdict.allCases.map { (label(("verdict", $0.rawValue)), "\(snapshot.events.byVerdict[$0.rawValue] ?? 0)") })
        family("lightscope_events_by_tool_total", "counter", "Unwanted-traffic events by the tool that sent the probe (unknown: no tool named).",
               ScanTool.allCases.map { (label(("tool", $0.name)), "\(snapshot.events.byTool[$0.name] ?? 0)") })
        family("lightscope_watchdog_pings_total", "counter", "WATCHDOG=1 notifications sent to systemd.",
               [("", "\(snapshot.watchdog.pingsSent)")])
        family("lightscope_watchdog_enabled", "gauge", "1 when systemd's watchdog supervises the daemon.",
               [("", snapshot.watchdog.timeoutNanos == nil ? "0" : "1")])
        family("lightscope_loop_stalls_total", "counter", "Loops found stalled past the stall limit.",
               [("", "\(snapshot.watchdog.stallsDetected)")])
        family("lightscope_loop_heartbeat_age_seconds", "gauge", "Time since each loop last made progress.",
               snapshot.loops.map { (label(("loop", $0.name)), seconds($0.heartbeatAgeNanos)) })
        family("lightscope_detection_evictions_total", "counter", "Detection state evicted by the memory budget.",
               [("", "\(snapshot.detection.evictions)")])
        family("lightscope_detection_scan_source_evictions_total", "counter",
               "Scan sources evicted by the memory budget, with what they had counted (lost scan state).",
               [("", "\(snapshot.detection.scanSourceEvictions)")])
        family("lightscope_detection_slowscan_source_evictions_total", "counter",
               "Slow-scan sources evicted by the memory budget before their window ended, the least recently active first.",
               [("", "\(snapshot.detection.slowScanEvictions)")])
        family("lightscope_events_lost_total", "counter",
               "Events that never reached the store, by reason: queue (writer behind), eviction (memory budget), disk, interface (hung capture), fleet (removed from the store before the shipper delivered them).",
               EventLossReason.allCases.map { (label(("reason", $0.rawValue)), "\(snapshot.lostEvents[$0.rawValue] ?? 0)") })
        family("lightscope_detection_pending_probes", "gauge", "Connection attempts waiting for an answer.",
               [("", "\(snapshot.detection.pendingProbes)")])
        family("lightscope_detection_scan_sources", "gauge", "Sources tracked by scan detection.",
               [("", "\(snapshot.detection.scanSources)")])
        if let fragments = snapshot.fragments {
            family("lightscope_fragmented_datagrams_total", "counter",
                   "Datagrams with a TCP header split across fragments, by what became of them.",
                   [("reassembled", fragments.reassembled), ("overlapping", fragments.overlapping), ("evicted", fragments.evicted),
                    ("expired", fragments.expired)].map { (label(("outcome", $0.0)), "\($0.1)") })
        }
        family("lightscope_restarts_total", "counter", "Earlier runs that systemd restarted, by how they ended (kept history of 50 runs).",
               RunHistory.Ending.allCases.filter { $0 != .clean }.map {
                   (label(("reason", $0.rawValue)), "\(snapshot.restarts.byEnding[$0.rawValue] ?? 0)")
               })
        family("lightscope_watchdog_timeouts_total", "counter", "Earlier runs ended by systemd's watchdog (kept history of 50 runs).",
               [("", "\(snapshot.restarts.byEnding[RunHistory.Ending.watchdog.rawValue] ?? 0)")])
        family("lightscope_last_restart_time_seconds", "gauge",
               "When the run before this one ended uncleanly, seconds since the epoch; 0 when it did not.",
               [("", seconds(snapshot.restarts.lastRestartAtNanos ?? 0))])
        if let store = snapshot.store {
            family("lightscope_store_events_written_total", "counter", "Events committed to the local store.",
                   [("", "\(store.eventsWritten)")])
            family("lightscope_store_errors_total", "counter", "Store write errors.", [("", "\(store.errors)")])
            family("lightscope_store_events_aggregated_total", "counter",
                   "Events folded into aggregate events the local store committed (not among events written).",
                   [("", "\(store.aggregated ?? 0)")])
            family("lightscope_store_aggregates_written_total", "counter", "Aggregate events committed to the local store.",
                   [("", "\(store.aggregatesWritten ?? 0)")])
            family("lightscope_store_size_bytes", "gauge", "Size of the local store on disk.", [("", "\(store.sizeBytes)")])
        }
        if let fleet = snapshot.fleet {
            family("lightscope_fleet_connected", "gauge", "1 while the shipper holds a connection to the collector.",
                   [("", fleet.connected ? "1" : "0")])
            family("lightscope_fleet_events_pending", "gauge", "Stored events the collector has not committed yet.",
                   [("", "\(fleet.eventsPending)")])
            family("lightscope_fleet_oldest_pending_age_seconds", "gauge", "Age of the oldest event not yet shipped (0: none).",
                   [("", seconds(fleet.oldestPendingAgeNanos(nowNanos: snapshot.updatedAtNanos)))])
            family("lightscope_fleet_events_shipped_total", "counter", "Events the collector committed since start.",
                   [("", "\(fleet.eventsShipped)")])
        }
        return out
    }

    static func seconds(_ nanos: UInt64) -> String {
        let whole = nanos / 1_000_000_000
        let millis = nanos % 1_000_000_000 / 1_000_000
        let fraction = String(millis)
        return "\(whole)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
