import LightScopeCore
import Logging

/// The daemon's logging API: swift-log's `Logger`, with `JournalLogHandler` behind it.
/// `Log.warning(...)` and the other levels are a thin facade over `Log.logger`, so call sites
/// stay one word long; new code may use `Log.logger` (or any swift-log logger) directly.
public enum Log {
    /// Made with its handler rather than through `LoggingSystem.bootstrap`, which a process
    /// may call only once (and tests, libraries and the daemon share one process).
    public static let logger = Logger(label: "lightscope") { _ in JournalLogHandler() }

    /// Shared by every `JournalLogHandler`: `[log] level` and a reload change it at once for all.
    public static var level: LogLevel {
        get { JournalLogHandler.threshold }
        set { JournalLogHandler.threshold = newValue }
    }

    public static func isEnabled(_ level: LogLevel) -> Bool { level.rawValue <= JournalLogHandler.threshold.rawValue }

    public static func critical(_ message: @autoclosure () -> String) { logger.critical("\(message())") }
    public static func error(_ message: @autoclosure () -> String) { logger.error("\(message())") }
    public static func warning(_ message: @autoclosure () -> String) { logger.warning("\(message())") }
    public static func notice(_ message: @autoclosure () -> String) { logger.notice("\(message())") }
    public static func info(_ message: @autoclosure () -> String) { logger.info("\(message())") }
    public static func debug(_ message: @autoclosure () -> String) { logger.debug("\(message())") }
}
