import Foundation
import LightScopeCore
import LightScopeStore
import LightScopeTestSupport
import XCTest

/// The operator commands' text, JSON and exit status, byte for byte, against
/// `Tests/golden/cli/`, over a store this test fills with the same events every time. What
/// varies from run to run is masked, each for its reason:
/// - `<state-dir>`, `<config>`: temporary paths, new for every run;
/// - `<time>`: the events' times, which are relative to now so that the commands' windows
///   (`--since`, default 24h) hold them;
/// - `<uid>`: whoever runs the tests (doctor's store check names them);
/// - `<pid>`, `<nanos>`: the status file's process (a live one, started by the test) and its
///   timestamps, which must be recent for `status` to call the daemon healthy.
final class GoldenOutputTests: XCTestCase {
    private var state: FilledStateDirectory!

    override func setUpWithError() throws {
        state = try FilledStateDirectory()
        try state.insert(Self.records(state))
    }

    override func tearDown() { state = nil }

    /// One of each verdict, tools, both families, an anonymised source, a backscatter answer.
    private static func records(_ state: FilledStateDirectory) -> [EventRecord] {
        var records = (0..<6).map { state.event("203.0.113.7", secondsAgo: 600 + UInt64($0), port: 22, packets: 2) }
        records += (0..<5).map { state.event("2001:db8::7", secondsAgo: 500 + UInt64($0), port: 443) }
        records.append(state.event("198.51.100.9", secondsAgo: 400, verdict: .unanswered))
        records.append(state.event("198.51.100.10", secondsAgo: 390, port: 53, proto: .udp))
        records.append(state.event("anon4-6cf5eedfd3530cb1", secondsAgo: 380, port: 3389))
        var scan = state.event("192.0.2.200", secondsAgo: 300, verdict: .portscan, packets: 52)
        scan.tool = .nmap
        records.append(scan)
        var masscan = state.event("192.0.2.201", secondsAgo: 290, port: 80)
        masscan.tool = .masscan
        masscan.tcpWindow = 1024
        masscan.tcpOptions = "M1460"
        records.append(masscan)
        var unfiltered = state.event("192.0.2.202", secondsAgo: 280, port: 8080, verdict: .unfiltered)
        unfiltered.tcpFlags = "A"
        records.append(unfiltered)
        var backscatter = state.event("198.51.100.20", secondsAgo: 270, port: nil, packets: 412)
        backscatter.sourcePort = 80
        backscatter.verdict = .backscatter
        backscatter.answer = .synAck
        records.append(backscatter)
        var addrscan = state.event("192.0.2.203", secondsAgo: 260, port: 23, verdict: .addrscan, packets: 30)
        addrscan.addresses = 30
        records.append(addrscan)
        records.append(state.event("198.51.100.1", secondsAgo: 3 * 86400, port: 80))
        return records
    }

    private func masks(_ extra: [(String, String)] = []) -> [(String, String)] {
        [(NSRegularExpression.escapedPattern(for: state.path), "<state-dir>"),
         (#"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"#, "<time>")] + extra
    }

    private func check(_ name: String, _ arguments: [String], masks extra: [(String, String)] = []) throws {
        let result = try lightscope(arguments)
        try GoldenFile.assertMatches(GoldenFile.transcript(result, masks: masks(extra)), area: "cli", name: name)
    }

    private func config(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "lightscope-golden-\(UUID().uuidString).conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testEvents() throws {
        try check("events", ["events", "--state-dir", state.path])
        try check("events-json", ["events", "--json", "--state-dir", state.path])
        try check("events-since-7d-verdict", ["events", "--since", "7d", "--verdict", "closed", "--limit", "3", "--state-dir", state.path])
        try check("events-tool", ["events", "--tool", "nmap", "--json", "--state-dir", state.path])
        try check("events-empty-window", ["events", "--since", "1s", "--state-dir", state.path])
        try check("events-bad-verdict", ["events", "--verdict", "evil", "--state-dir", state.path])
        try check("events-no-store", ["events", "--state-dir", state.path + "/absent"])
    }

    func testTop() throws {
        try check("top", ["top", "--state-dir", state.path])
        try check("top-json", ["top", "--json", "--state-dir", state.path])
        try check("top-port", ["top", "--by", "port", "--since", "7d", "--state-dir", state.path])
        try check("top-port-json", ["top", "--by", "port", "--json", "--state-dir", state.path])
        try check("top-tool", ["top", "--by", "tool", "--state-dir", state.path])
        try check("top-tool-json", ["top", "--by", "tool", "--json", "--limit", "2", "--state-dir", state.path])
    }

    func testBlocklist() throws {
        let empty = try config("")
        let configMask = [(NSRegularExpression.escapedPattern(for: empty), "<config>")]
        for format in ["plain", "nft", "ipset"] {
            try check("blocklist-\(format)", ["blocklist", "--min-events", "1", "--format", format, "--config", empty, "--state-dir", state.path],
                      masks: configMask)
        }
        try check("blocklist-min-events", ["blocklist", "--min-events", "5", "--format", "plain", "--config", empty, "--state-dir", state.path],
                  masks: configMask)
        try check("blocklist-bad-min-events", ["blocklist", "--min-events", "0", "--config", empty, "--state-dir", state.path],
                  masks: configMask)
    }

    func testCheckConfig() throws {
        let good = try config("[capture]\ninterfaces = eth0\n[log]\nlevel = debug\n")
        try check("check-config-good", ["check-config", "--config", good], masks: [(NSRegularExpression.escapedPattern(for: good), "<config>")])
        let bad = try config("[capture]\n\nsnaplen = lots\n")
        try check("check-config-bad", ["check-config", "--config", bad], masks: [(NSRegularExpression.escapedPattern(for: bad), "<config>")])
        try check("check-config-missing", ["check-config", "--config", "/nonexistent/lightscope.conf"])
    }

    /// Only the checks whose outcome does not depend on the host (its privileges, systemd,
    /// interfaces and libraries): the config, the store and the metrics listener.
    func testDoctorDeterministicChecks() throws {
        let bad = try config("[watchdog]\n\nping_interval = soon\n")
        let result = try lightscope(["doctor", "--config", bad, "--state-dir", state.path + "/absent"])
        let exposed = try config("[metrics]\nlisten = [::]:9870\n")
        let metrics = try lightscope(["doctor", "--config", exposed, "--state-dir", state.path])
        let kept = ["config", "store", "metrics"]
        func lines(_ result: CLIResult) -> String {
            "exit \(result.status)\n" + result.lines.filter { line in kept.contains { line.hasPrefix("PASS \($0):") || line.hasPrefix("FAIL \($0):") } }
                .map { $0 + "\n" }.joined()
        }
        let text = lines(result) + lines(metrics)
        let masked = masks([(NSRegularExpression.escapedPattern(for: bad), "<config>"),
                            (NSRegularExpression.escapedPattern(for: exposed), "<config>"), (#"by uid \d+"#, "by uid <uid>")])
            .reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1, options: .regularExpression) }
        try GoldenFile.assertMatches(masked, area: "cli", name: "doctor-checks")
    }

    func testStatus() throws {
        try check("status-not-running", ["status", "--state-dir", state.path])
        try check("status-not-running-json", ["status", "--json", "--state-dir", state.path])
        let daemon = try StandInDaemon()
        defer { daemon.stop() }
        try writeStatusFile(StatusFixture.snapshot(pid: daemon.pid, storePath: state.path + "/" + EventStore.fileName))
        let pidMasks = [(#"pid \#(daemon.pid)\b"#, "pid <pid>"), (#""pid" : \#(daemon.pid)\b"#, #""pid" : <pid>"#),
                        (#"("(started_at_nanos|updated_at_nanos|at_nanos)" : )\d+"#, "$1<nanos>")]
        try check("status-running", ["status", "--state-dir", state.path], masks: pidMasks)
        try check("status-running-json", ["status", "--json", "--state-dir", state.path], masks: pidMasks)
    }

    private func writeStatusFile(_ snapshot: DaemonSnapshot) throws {
        let runtime = state.path + "/run"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(snapshot).write(to: URL(fileURLWithPath: runtime + "/" + RuntimeDirectory.statusFileName))
    }
}
