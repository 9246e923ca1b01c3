import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// The shipped alerting rules (packaging/prometheus) pass Prometheus's own checker and their
/// unit tests, which feed every rule series that must fire it and series that must not.
final class PrometheusRulesTests: XCTestCase {
    private let directory = repositoryRoot + "/packaging/prometheus"
    private let rulesFile = "lightscope-rules.yml"
    private let testsFile = "lightscope-rules.test.yml"

    private func promtool(_ arguments: [String]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else {
            throw TestFailure("promtool is missing: install Debian's prometheus package (scripts/install-deps.sh)")
        }
        return try shell(["sh", "-c", "cd \"$0\" && exec promtool \"$@\"", directory] + arguments, allowFailure: true)
    }

    private func text(_ file: String) throws -> String {
        try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
    }

    func testPromtoolAcceptsTheRules() throws {
        let check = try promtool(["check", "rules", rulesFile])
        XCTAssertEqual(check.status, 0, check.output)
    }

    func testEveryRuleFiresAndHoldsAsItsTestsSay() throws {
        let test = try promtool(["test", "rules", testsFile])
        XCTAssertEqual(test.status, 0, test.output)
    }

    /// docs/prometheus.md's commands, as an operator runs them in the installed directory.
    func testTheDocumentedChecksPass() throws {
        try runDocumentedExample("prometheus-rules", in: directory)
    }

    /// promtool passes a rule that no test names, so each alert must have one.
    func testEveryRuleHasATest() throws {
        let tests = try text(testsFile)
        let alerts = try text(rulesFile).split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("- alert: ") ? String(trimmed.dropFirst("- alert: ".count)) : nil
        }
        XCTAssertFalse(alerts.isEmpty)
        for alert in alerts {
            XCTAssertTrue(tests.contains("alertname: \(alert)\n"), "\(alert) has no test in \(testsFile)")
        }
    }

    /// promtool's tests feed the series they name, so a misspelt metric passes them: every
    /// `lightscope_` name in the rules must be one the daemon exports (with [fleet] url set).
    func testEveryMetricTheRulesUseIsExported() throws {
        let rules = try text(rulesFile)
        let names = Set(rules.matches(of: try Regex("lightscope_[a-z_]+")).map { String(rules[$0.range]) })
        XCTAssertFalse(names.isEmpty)
        let exported = PrometheusText.render(Self.snapshotWithEveryFamily())
        for name in names.sorted() {
            XCTAssertTrue(exported.contains("# TYPE \(name) "), "the rules use \(name), which the daemon does not export")
        }
    }

    private static func snapshotWithEveryFamily() -> DaemonSnapshot {
        DaemonSnapshot(
            version: "0.1.0", pid: 42, startedAtNanos: 1_700_000_000_000_000_000, updatedAtNanos: 1_700_000_060_000_000_000,
            status: "Processing packets",
            interfaces: [.init(name: "eth0", capturing: true, packets: 1, bytes: 60, packetsPerSecond: 0, drops: 0, unwanted: 0, malformed: 0)],
            loops: [.init(name: "runner loop", heartbeatAgeNanos: 0, stalled: false)],
            watchdog: .init(timeoutNanos: 30_000_000_000, pingIntervalNanos: 15_000_000_000, stallLimitNanos: 30_000_000_000,
                            pingsSent: 0, lastPingAtNanos: nil, stallsDetected: 0),
            events: .init(byVerdict: [:]),
            detection: .init(pendingProbes: 0, scanSources: 0, evictions: 0, probeEvictions: 0, scanSourceEvictions: 0),
            store: .init(path: "/var/lib/lightscope/events.sqlite", sizeBytes: 4096, eventsWritten: 0, errors: 0),
            lostEvents: [:], restarts: .init(byEnding: [:], lastRestartAtNanos: nil, lastReason: nil),
            fleet: .init(collector: "collector:5432", hostIdentifier: "6c1f3a52-9e44-4b0d-8a57-2cd17e903b64", hostName: "web1",
                         connected: true, eventsPending: 0, oldestPendingAtNanos: nil, eventsShipped: 0, lastShippedAtNanos: nil,
                         problem: nil))
    }
}
