import LightScopeCore
import LightScopeSystem
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes one line to stderr per message, in one `write(2)`, safe
/// from any thread.
///
/// Under systemd (stderr is the journal stream named by JOURNAL_STREAM) each line carries a
/// `<N>` syslog prefix, so journald files it at its real priority and
/// `journalctl -u lightscope -p err` shows only errors. In a terminal the level is spelled out.
/// The message is escaped (`SafeText`): it may quote a config value or an interface name, and a
/// newline in it would split one journal entry into several.
public struct JournalLogHandler: LogHandler {
    private static let sharedThreshold = Atomic<Int>(LogLevel.info.rawValue)
    private static let journalPrefixes = Atomic<Bool>(stderrIsJournal())

    static var threshold: LogLevel {
        get { LogLevel(rawValue: sharedThreshold.load(ordering: .relaxed)) ?? .info }
        set { sharedThreshold.store(newValue.rawValue, ordering: .relaxed) }
    }

    public var metadata: Logger.Metadata = [:]

    public init() {}

    /// The process-wide threshold (`Log.level`), in swift-log's terms.
    public var logLevel: Logger.Level {
        get { Self.loggerLevel(Self.threshold) }
        set { Self.threshold = Self.priority(newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = event.message.description
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let line = Self.line(Self.priority(event.level), text, journal: Self.journalPrefixes.load(ordering: .relaxed))
        WriteAll.write(Array(line.utf8), to: STDERR_FILENO)
    }

    /// One log line: `<4>text` for journald, `lightscope: warning: text` for a terminal.
    public static func line(_ level: LogLevel, _ message: String, journal: Bool) -> String {
        let text = SafeText.escaped(message)
        return journal ? "<\(level.rawValue)>\(text)\n" : "lightscope: \(level.name): \(text)\n"
    }

    /// swift-log's levels on syslog's priorities; trace has none below debug, so it shares 7.
    public static func priority(_ level: Logger.Level) -> LogLevel {
        switch level {
        case .trace, .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }

    static func loggerLevel(_ level: LogLevel) -> Logger.Level {
        switch level {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
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
