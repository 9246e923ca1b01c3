import Foundation
import LightScopeCore
import LightScopeTestSupport
import XCTest

/// Text from the store or the config never reaches a terminal, the journal or STATUS= raw:
/// an escape sequence in it is shown as `\e...`, a newline as `\n` (`SafeText`).
final class TerminalEscapeTests: XCTestCase {
    /// Clears the screen, retitles the terminal, and starts a second line.
    private let hostile = "\u{1B}[2J\u{1B}]0;owned\u{07}\nFAKE"
    private let shown = "\\e[2J\\e]0;owned\\x07\\nFAKE"

    private func assertNoControlCharacters(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let bad = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
        XCTAssertTrue(bad.isEmpty, "raw control characters \(bad.map(\.value)) in: \(text)", file: file, line: line)
    }

    func testEventsAndTopEscapeTextFromTheStore() throws {
        let state = try FilledStateDirectory()
        var record = state.event("203.0.113.7" + hostile, secondsAgo: 60)
        record.interface = "eth0" + hostile
        try state.insert([record])
        let events = try lightscope(["events", "--state-dir", state.path])
        XCTAssertEqual(events.status, 0, events.errors)
        XCTAssertEqual(events.lines.count, 1, events.output)
        XCTAssertTrue(events.output.contains("203.0.113.7\(shown):40000"), events.output)
        assertNoControlCharacters(events.output)
        let top = try lightscope(["top", "--state-dir", state.path])
        XCTAssertEqual(top.lines.count, 2, top.output)
        XCTAssertTrue(top.lines[1].hasSuffix("203.0.113.7\(shown)"), top.output)
        assertNoControlCharacters(top.output)
        // JSON escapes by its own rules, and stays valid.
        let json = try lightscope(["events", "--json", "--state-dir", state.path])
        XCTAssertEqual(try EventJSON.decode(json.lines[0]).source, "203.0.113.7" + hostile)
        assertNoControlCharacters(json.output)
        // The blocklist's note about what it skipped quotes the text too.
        let blocklist = try lightscope(["blocklist", "--format", "plain", "--min-events", "1", "--state-dir", state.path])
        assertNoControlCharacters(blocklist.errors)
    }

    /// A config value with an escape sequence and a newline: one escaped line in the daemon's
    /// log and in STATUS=, never two lines or a raw ESC.
    func testABadConfigValueIsEscapedInTheLogAndInStatus() throws {
        let listener = try NotifyListener(kind: .path)
        let config = NSTemporaryDirectory() + "lightscope-escape-\(UUID().uuidString).conf"
        let state = NSTemporaryDirectory() + "lightscope-escape-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: config)
            try? FileManager.default.removeItem(atPath: state)
        }
        try Data("[log]\nlevel = \(hostile.replacingOccurrences(of: "\n", with: "\r"))\n".utf8).write(to: URL(fileURLWithPath: config))
        let daemon = try DaemonProcess(arguments: ["run", "--config", config, "--state-dir", state],
                                       environment: ["NOTIFY_SOCKET": listener.address])
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 78, daemon.log)
        let shownWithCR = shown.replacingOccurrences(of: "\\n", with: "\\r")
        let errorLines = daemon.log.split(separator: "\n").filter { $0.contains("invalid config") }
        XCTAssertEqual(errorLines.count, 1, daemon.log)
        XCTAssertTrue(errorLines.first?.contains("'\(shownWithCR)' is not a log level") ?? false, daemon.log)
        assertNoControlCharacters(daemon.log)
        let status = listener.wait(timeout: 2) { $0.has("STATUS") }.match
        let value = status?.assignments["STATUS"] ?? ""
        XCTAssertTrue(value.contains("'\(shownWithCR)' is not a log level"), value)
        XCTAssertFalse(status?.text.contains("\r") ?? true, status?.text ?? "")
    }
}
