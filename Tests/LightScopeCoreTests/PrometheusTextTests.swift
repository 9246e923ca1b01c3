import Foundation
import LightScopeCore
import XCTest

final class PrometheusTextTests: XCTestCase {
    static func sampleSnapshot() -> DaemonSnapshot {
        DaemonSnapshot(
            version: "0.1.0", pid: 42, startedAtNanos: 1_700_000_000_000_000_000, updatedAtNanos: 1_700_000_060_500_000_000,
            status: "Processing packets", interfaces: [
                .init(name: "eth0", capturing: true, packets: 1234, bytes: 80_000, packetsPerSecond: 12, drops: 3, unwanted: 7, malformed: 1),
                .init(name: "we\"ird", capturing: false, packets: 0, bytes: 0, packetsPerSecond: 0, drops: 0, unwanted: 0, malformed: 0),
            ],
            loops: [.init(name: "runner loop", heartbeatAgeNanos: 250_000_000, stalled: false)],
            watchdog: .init(timeoutNanos: 30_000_000_000, pingIntervalNanos: 15_000_000_000, stallLimitNanos: 30_000_000_000,
                            pingsSent: 4, lastPingAtNanos: 1_700_000_060_000_000_000, stallsDetected: 1),
            events: .init(byVerdict: ["closed": 5, "portscan": 1], byTool: ["unknown": 4, "nmap": 2]),
            detection: .init(pendingProbes: 2, scanSources: 1, evictions: 0, probeEvictions: 0, scanSourceEvictions: 0),
            store: .init(path: "/var/lib/lightscope/events.sqlite", sizeBytes: 4096, eventsWritten: 6, errors: 0),
            lostEvents: ["queue": 3, "eviction": 2, "disk": 0, "interface": 0, "fleet": 0],
            restarts: .init(byEnding: ["watchdog": 2, "crash": 1], lastRestartAtNanos: 1_699_999_999_000_000_000, lastReason: "watchdog timeout"),
            fragments: { var counters = FragmentCounters(); counters.reassembled = 3; counters.evicted = 2; return counters }())
    }

    func testExpositionCarriesEveryFamilyWithLabels() {
        let text = PrometheusText.render(Self.sampleSnapshot())
        for line in [
            "lightscope_packets_total{interface=\"eth0\"} 1234",
            "lightscope_drops_total{interface=\"eth0\"} 3",
            "lightscope_bytes_total{interface=\"eth0\"} 80000",
            "lightscope_events_total{verdict=\"closed\"} 5",
            "lightscope_events_total{verdict=\"addrscan\"} 0",
            "lightscope_events_by_tool_total{tool=\"nmap\"} 2",
            "lightscope_events_by_tool_total{tool=\"unknown\"} 4",
            "lightscope_events_by_tool_total{tool=\"hping3\"} 0",
            "lightscope_watchdog_pings_total 4",
            "lightscope_loop_stalls_total 1",
            "lightscope_loop_heartbeat_age_seconds{loop=\"runner loop\"} 0.250",
            "lightscope_detection_evictions_total 0",
            "lightscope_store_errors_total 0",
            "lightscope_events_lost_total{reason=\"queue\"} 3",
            "lightscope_events_lost_total{reason=\"eviction\"} 2",
            "lightscope_events_lost_total{reason=\"fleet\"} 0",
            "lightscope_detection_scan_source_evictions_total 0",
            "lightscope_restarts_total{reason=\"watchdog\"} 2",
            "lightscope_watchdog_timeouts_total 2",
            "lightscope_last_restart_time_seconds 1699999999.000",
            "lightscope_interface_capturing{interface=\"we\\\"ird\"} 0",
            "lightscope_fragmented_datagrams_total{outcome=\"reassembled\"} 3",
            "lightscope_fragmented_datagrams_total{outcome=\"evicted\"} 2",
            "# TYPE lightscope_packets_total counter",
        ] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
    }

    /// Present from the first scrape (0 until a restart), so a dashboard or alert never sees it appear.
    /// `lightscope status` of a new version reads the status file of a daemon started before
    /// the upgrade: its events, with no tool counted.
    func testEventsFromBeforeToolsWereCountedStillRead() throws {
        let events = try JSONDecoder().decode(DaemonSnapshot.Events.self, from: Data(#"{"byVerdict":{"closed":3}}"#.utf8))
        XCTAssertEqual(events, DaemonSnapshot.Events(byVerdict: ["closed": 3], byTool: [:]))
        XCTAssertTrue(PrometheusText.render({ var snapshot = Self.sampleSnapshot(); snapshot.events = events; return snapshot }())
            .contains("lightscope_events_by_tool_total{tool=\"nmap\"} 0"))
    }

    func testLastRestartTimeIsThereBeforeAnyRestart() {
        var snapshot = Self.sampleSnapshot()
        snapshot.restarts = .init(byEnding: [:], lastRestartAtNanos: nil, lastReason: nil)
        XCTAssertTrue(PrometheusText.render(snapshot).contains("\nlightscope_last_restart_time_seconds 0.000\n"))
    }

    func testStatusReportText() {
        let report = StatusReport(running: true, problem: nil, daemon: Self.sampleSnapshot(),
                                  recentRuns: [RunHistory.Run(pid: 41, startedAtNanos: 1_699_999_000_000_000_000,
                                                              endedAtNanos: 1_699_999_999_000_000_000, ending: .watchdog,
                                                              detail: "packet loop eth0 stalled for 31.0s")],
                                  eventsLastHour: 49)
        let text = report.text(nowNanos: 1_700_000_061_000_000_000)
        XCTAssertTrue(text.contains("LightScope 0.1.0, pid 42, up 1m01s"), text)
        XCTAssertTrue(text.contains("  eth0  capturing  1234 packets  12 pps  3 dropped  7 unwanted  1 malformed"), text)
        XCTAssertTrue(text.contains("Watchdog: 30.0s (systemd), ping every 15.0s; last ping 1.0s ago; 4 pings, 1 stalls"), text)
        XCTAssertTrue(text.contains("Events: 49 in the last hour (store); this run: closed 5, unanswered 0, portscan 1, addrscan 0, unfiltered 0, backscatter 0, slowscan 0"), text)
        var unreadable = report
        unreadable.eventsLastHour = nil
        XCTAssertTrue(unreadable.text(nowNanos: 1_700_000_061_000_000_000).contains("Events: last hour unknown (the store cannot be read); this run:"))
        XCTAssertTrue(text.contains("Lost events: 5 (queue 3, eviction 2, disk 0, interface 0, fleet 0, aggregation 0)"), text)
        XCTAssertTrue(text.contains("Store: /var/lib/lightscope/events.sqlite, 4 KiB, 6 written, 0 errors"), text)
        XCTAssertFalse(text.contains("Aggregated:"), "no aggregation line while nothing was aggregated")
        var aggregating = report
        aggregating.daemon?.store?.aggregated = 5000
        aggregating.daemon?.store?.aggregatesWritten = 3
        XCTAssertTrue(aggregating.text(nowNanos: 1_700_000_061_000_000_000).contains("Aggregated: 5000 events in 3 aggregate events"))
        let metrics = PrometheusText.render(aggregating.daemon!)
        XCTAssertTrue(metrics.contains("lightscope_store_events_aggregated_total 5000"), metrics)
        XCTAssertTrue(metrics.contains("lightscope_store_aggregates_written_total 3"), metrics)
        XCTAssertTrue(text.contains("Fragmented TCP headers: 3 reassembled, 0 dropped as overlapping, 2 pushed out unfinished, 0 timed out"), text)
        XCTAssertTrue(text.contains("16m39s  watchdog timeout (packet loop eth0 stalled for 31.0s)"), text)
        XCTAssertTrue(text.contains("Store: /var/lib/lightscope/events.sqlite, 4 KiB, 6 written"), text)
        let noFile = report.text(nowNanos: 1_700_000_061_000_000_000, storeFileExists: false)
        XCTAssertTrue(noFile.contains("Store: /var/lib/lightscope/events.sqlite, no file yet, 6 written"), noFile)
        XCTAssertFalse(noFile.contains("KiB"), noFile)
    }

    func testMetricsEndpointParsing() {
        XCTAssertEqual(MetricsEndpoint("127.0.0.1:9870")?.port, 9870)
        XCTAssertEqual(MetricsEndpoint("[::1]:9870")?.description, "[::1]:9870")
        XCTAssertNil(MetricsEndpoint("localhost:9870"))
        XCTAssertNil(MetricsEndpoint("127.0.0.1"))
        XCTAssertNil(MetricsEndpoint("127.0.0.1:0"))
        XCTAssertNil(MetricsEndpoint("::1:9870"))
    }
}
