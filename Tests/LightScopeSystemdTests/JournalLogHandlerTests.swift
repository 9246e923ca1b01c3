import LightScopeCore
import LightScopeLogging
import Logging
import XCTest

/// Under systemd each line starts with its syslog priority, which journald files it under
/// (`journalctl -p err`); the priorities are syslog's, so they never change.
final class JournalLogHandlerTests: XCTestCase {
    func testJournalLinesCarryTheSyslogPriority() {
        let expected: [(Logger.Level, String)] = [
            (.critical, "<2>stop\n"), (.error, "<3>stop\n"), (.warning, "<4>stop\n"), (.notice, "<5>stop\n"),
            (.info, "<6>stop\n"), (.debug, "<7>stop\n"), (.trace, "<7>stop\n"),
        ]
        for (level, line) in expected {
            XCTAssertEqual(JournalLogHandler.line(JournalLogHandler.priority(level), "stop", journal: true), line, "\(level)")
        }
        XCTAssertEqual(JournalLogHandler.line(.warning, "two\nlines", journal: true), "<4>two\\nlines\n")
    }

    /// `Log.level` and a swift-log logger's level are one threshold.
    func testTheLevelIsSharedWithSwiftLog() {
        let previous = Log.level
        defer { Log.level = previous }
        Log.level = .warning
        XCTAssertEqual(Log.logger.logLevel, .warning)
        XCTAssertTrue(Log.isEnabled(.error))
        XCTAssertFalse(Log.isEnabled(.notice))
        var logger = Log.logger
        logger.logLevel = .debug
        XCTAssertEqual(Log.level, .debug)
    }
}
