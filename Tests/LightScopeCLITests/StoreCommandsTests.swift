import Foundation
import LightScopeCore
import LightScopeStore
import XCTest

/// `events` and `top` through the real binary, over a store the test fills.
final class StoreCommandsTests: XCTestCase {
    func testEventsPrintsTimeAndEventLineOldestFirstWithinTheWindow() throws {
        let state = try FilledStateDirectory()
        let old = state.event("198.51.100.1", secondsAgo: 2 * 3600)
        let first = state.event("203.0.113.7", secondsAgo: 600, port: 22)
        let second = state.event("2001:db8::7", secondsAgo: 60, verdict: .portscan, packets: 52)
        try state.insert([old, second, first])
        let result = try lightscope(["events", "--state-dir", state.path])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.lines, [
            "\(RFC3339.format(timeNanos: first.timeNanos)) unwanted tcp 203.0.113.7:40000 -> 192.0.2.1:22 closed (1 packet, ttl 54)",
            "\(RFC3339.format(timeNanos: second.timeNanos)) unwanted tcp 2001:db8::7 -> 192.0.2.1 portscan (40 ports, 52 packets, ttl 54)",
        ])
        let wider = try lightscope(["events", "--since", "3h", "--state-dir", state.path])
        XCTAssertEqual(wider.lines.count, 3)
        XCTAssertTrue(wider.lines[0].contains("198.51.100.1"))
    }

    func testEventsJSONVerdictAndLimit() throws {
        let state = try FilledStateDirectory()
        let records = (0..<5).map { state.event("203.0.113.\($0)", secondsAgo: UInt64(100 - $0)) }
            + [state.event("198.51.100.9", secondsAgo: 10, verdict: .unanswered)]
        try state.insert(records)
        let json = try lightscope(["events", "--json", "--limit", "2", "--verdict", "closed", "--state-dir", state.path])
        XCTAssertEqual(json.status, 0, json.errors)
        XCTAssertEqual(try json.lines.map { try EventJSON.decode($0) }, [records[3], records[4]], "the newest two closed ones")
        let unanswered = try lightscope(["events", "--verdict", "unanswered", "--state-dir", state.path])
        XCTAssertEqual(unanswered.lines.count, 1)
        XCTAssertTrue(unanswered.lines[0].hasSuffix("unwanted tcp 198.51.100.9:40000 -> 192.0.2.1:23 unanswered (1 packet, ttl 54)"))
    }

    /// `events --verdict backscatter`: the line and the JSON name the victim's answer.
    func testBackscatterEventsShowTheirAnswer() throws {
        let state = try FilledStateDirectory()
        var backscatter = state.event("198.51.100.20", secondsAgo: 30, port: nil, packets: 412)
        backscatter.sourcePort = 80
        backscatter.verdict = .backscatter
        backscatter.answer = .synAck
        try state.insert([state.event("203.0.113.7", secondsAgo: 60), backscatter])
        let text = try lightscope(["events", "--verdict", "backscatter", "--state-dir", state.path])
        XCTAssertEqual(text.status, 0, text.errors)
        XCTAssertEqual(text.lines, ["\(RFC3339.format(timeNanos: backscatter.timeNanos)) unwanted tcp 198.51.100.20:80 -> 192.0.2.1 "
            + "backscatter (answer syn-ack, 412 packets, ttl 54)"])
        let json = try lightscope(["events", "--json", "--state-dir", state.path])
        XCTAssertEqual(json.lines.count, 2)
        XCTAssertTrue(json.lines[1].hasSuffix(#""verdict":"backscatter","packets":412,"ttl":54,"tool":"unknown","answer":"syn-ack"}"#), json.lines[1])
        XCTAssertFalse(json.lines[0].contains("answer"), json.lines[0])
        XCTAssertEqual(try EventJSON.decode(json.lines[1]), backscatter)
    }

    func testBadArgumentsAreRejectedWithTheReason() throws {
        let since = try lightscope(["events", "--since", "soon", "--state-dir", "/nonexistent"])
        XCTAssertNotEqual(since.status, 0)
        XCTAssertTrue(since.errors.contains("'soon' is not a duration"), since.errors)
        let verdict = try lightscope(["events", "--verdict", "evil", "--state-dir", "/nonexistent"])
        XCTAssertNotEqual(verdict.status, 0)
        XCTAssertTrue(verdict.errors.contains("use one of closed, unanswered, portscan, addrscan, unfiltered, backscatter, slowscan"), verdict.errors)
    }

    func testMissingStoreNamesThePathAndWhoCreatesIt() throws {
        let state = try FilledStateDirectory()
        for command in [["events"], ["top"], ["blocklist", "--format", "plain"]] {
            let result = try lightscope(command + ["--state-dir", state.path])
            XCTAssertEqual(result.status, 1, command[0])
            XCTAssertEqual(result.output, "")
            XCTAssertTrue(result.errors.contains("no event store at \(state.path)/events.sqlite: the daemon creates it when it first starts"),
                          result.errors)
        }
    }

    func testTopSourcesAndPortsAsTableAndJSON() throws {
        let state = try FilledStateDirectory()
        try state.insert((0..<3).map { state.event("203.0.113.7", secondsAgo: 60 + UInt64($0), port: 23, packets: 2) }
            + [state.event("anon4-6cf5eedfd3530cb1", secondsAgo: 30, port: 22, proto: .udp),
               state.event("198.51.100.1", secondsAgo: 3 * 86400, port: 80)])
        let sources = try lightscope(["top", "--state-dir", state.path])
        XCTAssertEqual(sources.status, 0, sources.errors)
        XCTAssertEqual(sources.lines, ["EVENTS  PACKETS  SOURCE", "     3        6  203.0.113.7", "     1        1  anon4-6cf5eedfd3530cb1"])
        let ports = try lightscope(["top", "--by", "port", "--since", "7d", "--json", "--state-dir", state.path])
        XCTAssertEqual(ports.lines, [#"{"proto":"tcp","port":23,"events":3}"#, #"{"proto":"tcp","port":80,"events":1}"#,
                                     #"{"proto":"udp","port":22,"events":1}"#])
        let limited = try lightscope(["top", "--json", "--limit", "1", "--state-dir", state.path])
        XCTAssertEqual(limited.lines, [#"{"src":"203.0.113.7","events":3,"packets":6}"#])
        let empty = try lightscope(["top", "--since", "1s", "--state-dir", state.path])
        XCTAssertEqual(empty.status, 0)
        XCTAssertEqual(empty.output, "")
        XCTAssertTrue(empty.errors.contains("no events in the last 1s"))
    }

    func testEverySubcommandHasHelpAndTheStateCommandsTakeStateDir() throws {
        for (command, words) in [("events", "read-only"), ("top", "top talkers"), ("blocklist", "nft"),
                                 ("doctor", "watchdog"), ("run", "Capture"), ("replay", "capture file")] {
            let help = try lightscope([command, "--help"])
            XCTAssertEqual(help.status, 0, command)
            XCTAssertTrue(help.output.contains(words), "\(command) --help: \(help.output)")
            if command != "replay" { XCTAssertTrue(help.output.contains("--state-dir"), "\(command) --help lacks --state-dir") }
        }
    }

    func testStatusJSONLeavesSlashesAlone() throws {
        let state = try FilledStateDirectory()
        let result = try lightscope(["status", "--json", "--state-dir", state.path])
        XCTAssertEqual(result.status, 3)
        XCTAssertTrue(result.output.contains("no status file at \(state.path)/run/status.json"), result.output)
        XCTAssertFalse(result.output.contains("\\/"), result.output)
        let decoded = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        XCTAssertEqual(decoded?["running"] as? Bool, false)
    }
}

