import Foundation
import Glibc
import LightScopeCore
import LightScopeSystemd
import XCTest

/// The daemon's log lines on stderr, byte for byte, against `Tests/golden/journal/log-lines.txt`
/// (`LIGHTSCOPE_UPDATE_GOLDEN=1` rewrites it): every level, and a message with a newline and a
/// control character, which must stay one escaped line. Outside systemd, as here, each line
/// names its level; under systemd the same text follows a `<N>` priority instead
/// (`JournalLogHandlerTests`).
final class LogLinesTests: XCTestCase {
    func testEveryLevelsLineOnStderr() throws {
        let lines = try capturingStandardError {
            let previous = Log.level
            Log.level = .debug
            defer { Log.level = previous }
            Log.critical("critical: the watchdog fired")
            Log.error("cannot open eth9: No such device")
            Log.warning("Metrics listen on 0.0.0.0:9870, which is not a loopback address")
            Log.notice("unwanted tcp 203.0.113.7:51234 -> 192.0.2.1:23 closed (1 packet, ttl 54)")
            Log.info("Capturing on eth0")
            Log.debug("a name with a newline\nand a bell \u{07}")
            Log.level = .warning
            Log.info("not shown: below the level")
        }
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("golden/journal/log-lines.txt")
        if ProcessInfo.processInfo.environment["LIGHTSCOPE_UPDATE_GOLDEN"] == "1" {
            try Data(lines.utf8).write(to: golden)
        }
        XCTAssertEqual(lines, try String(contentsOf: golden, encoding: .utf8),
                       "the log lines differ from \(golden.path); LIGHTSCOPE_UPDATE_GOLDEN=1 rewrites it if that is meant")
    }

    /// stderr redirected into a file for the duration of `body`.
    private func capturingStandardError(_ body: () -> Void) throws -> String {
        let path = NSTemporaryDirectory() + "lightscope-log-\(UUID().uuidString)"
        defer { unlink(path) }
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let saved = dup(STDERR_FILENO)
        guard file >= 0, saved >= 0 else { throw POSIXError(.EIO) }
        dup2(file, STDERR_FILENO)
        close(file)
        body()
        dup2(saved, STDERR_FILENO)
        close(saved)
        return try String(contentsOfFile: path, encoding: .utf8)
    }
}
