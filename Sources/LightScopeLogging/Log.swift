import LightScopeCore
import LightScopeSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's logger: one `write(2)` to stderr per line, safe from any thread.
///
/// Under systemd (stderr is the journal stream named by JOURNAL_STREAM) each line carries a
/// `<N>` syslog prefix, so journald files it at its real priority and
/// `journalctl -u lightscope -p err` shows only errors. In a terminal the level is spelled out.
public enum Log {
    private static let threshold = Atomic<Int>(LogLevel.info.rawValue)
    private static let journalPrefixes = Atomic<Bool>(stderrIsJournal())

    public static var level: LogLevel {
        get { LogLevel(rawValue: threshold.load(ordering: .relaxed)) ?? .info }
        set { threshold.store(newValue.rawValue, ordering: .relaxed) }
    }

    public static func isEnabled(_ level: LogLevel) -> Bool { level.rawValue <= threshold.load(ordering: .relaxed) }

    public static func critical(_ message: @autoclosure () -> String) { write(.critical, message) }
    public static func error(_ message: @autoclosure () -> String) { write(.error, message) }
    public static func warning(_ message: @autoclosure () -> String) { write(.warning, message) }
    public static func notice(_ message: @autoclosure () -> String) { write(.notice, message) }
    public static func info(_ message: @autoclosure () -> String) { write(.info, message) }
    public static func debug(_ message: @autoclosure () -> String) { write(.debug, message) }

    /// The message is escaped (`SafeText`): it may quote a config value or an interface name,
    /// and a newline in it would split one journal entry into several.
    private static func write(_ level: LogLevel, _ message: () -> String) {
        guard isEnabled(level) else { return }
        let text = SafeText.escaped(message())
        let line: String
        if journalPrefixes.load(ordering: .relaxed) {
            line = "<\(level.rawValue)>\(text)\n"
        } else {
            line = "lightscope: \(level.name): \(text)\n"
        }
        WriteAll.write(Array(line.utf8), to: STDERR_FILENO)
    }

    /// True when stderr is the stream systemd connected to journald (JOURNAL_STREAM=dev:inode).
    private static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM").map({ String(cString: $0) }) else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }
}
