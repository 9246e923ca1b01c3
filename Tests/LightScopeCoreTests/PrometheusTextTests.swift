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
            events: .init(byVerdict: ["closed": 5, "portscan": 1], lastHour: 6),
            detection: .init(pendingProbes: 2, scanSources: 1, evictions: 0),
            store: .init(path: "/var/lib/lightscope/events.sqlite", sizeBytes: 4096, eventsWritten: 6, eventsLost: 0, errors: 0),
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
            "lightscope_watchdog_pings_total 4",
            "lightscope_loop_stalls_total 1",
            "lightscope_loop_heartbeat_age_seconds{loop=\"runner loop\"} 0.250",
            "lightscope_detection_evictions_total 0",
            "lightscope_store_errors_total 0",
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

    func testStatusReportText() {
        let report = StatusReport(running: true, problem: nil, daemon: Self.sampleSnapshot(),
                                  recentRuns: [RunHistory.Run(pid: 41, startedAtNanos: 1_699_999_000_000_000_000,
                                                              endedAtNanos: 1_699_999_999_000_000_000, ending: .watchdog,
                                                              detail: "packet loop eth0 stalled for 31.0s")])
        let text = report.text(nowNanos: 1_700_000_061_000_000_000)
        XCTAssertTrue(text.contains("LightScope 0.1.0, pid 42, up 1m01s"), text)
        XCTAssertTrue(text.contains("  eth0  capturing  1234 packets  12 pps  3 dropped  7 unwanted  1 malformed"), text)
        XCTAssertTrue(text.contains("Watchdog: 30.0s (systemd), ping every 15.0s; last ping 1.0s ago; 4 pings, 1 stalls"), text)
        XCTAssertTrue(text.contains("Events: 6 in the last hour"), text)
        XCTAssertTrue(text.contains("Fragmented TCP headers: 3 reassembled, 0 dropped as overlapping, 2 pushed out unfinished, 0 timed out"), text)
        XCTAssertTrue(text.contains("16m39s  watchdog timeout (packet loop eth0 stalled for 31.0s)"), text)
    }

    func testEventRateWindowForgetsOldMinutes() {
        var window = EventRateWindow()
        let minute: UInt64 = 60_000_000_000
        window.add(atNanos: 0)
        window.add(3, atNanos: 30 * minute)
        XCTAssertEqual(window.lastHour(atNanos: 30 * minute), 4)
        XCTAssertEqual(window.lastHour(atNanos: 61 * minute), 3)
        XCTAssertEqual(window.lastHour(atNanos: 200 * minute), 0)
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
