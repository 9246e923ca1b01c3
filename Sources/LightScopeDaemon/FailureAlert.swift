import LightScopeCore
import LightScopeStore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// `lightscope alert UNIT`, run by `lightscope-alert@UNIT.service` when lightscope.service
/// fails for good (start limit hit, or a config error that stops the restarts): one
/// priority-crit journal entry with the unit's last log lines, then the admin's command.
///
/// The unit runs it in two steps, because reading another unit's journal takes privileges
/// the admin's command must not have: `collect` (as root) reads the journal, writes the
/// entry and leaves the alert in the unit's runtime directory; `notify` (sandboxed, as
/// lightscope, without the journal or the state directory) runs the command with it.
public enum FailureAlert {
    /// Log lines of the failed unit quoted in the alert.
    public static let quotedLines = 20
    /// The alert between the two steps, in the unit's RuntimeDirectory=.
    public static let collectedFileName = "alert.txt"
    static let maximumCollectedBytes = 1 << 20

    public struct Alert: Equatable, Sendable {
        /// systemd's `Result` of the failed unit, e.g. `start-limit-hit`.
        public var result: String
        public var text: String

        public init(result: String, text: String) {
            self.result = result
            self.text = text
        }
    }

    /// Both steps in one process, as when an admin runs `lightscope alert UNIT` by hand.
    public static func run(unit: String, command: String?, commandProblem: String? = nil) -> Int32 {
        notify(unit: unit, alert: collect(unit: unit, commandProblem: commandProblem), command: command)
    }

    /// Reads the unit's result and last log lines and writes the priority-crit journal entry.
    /// `commandProblem`: why `[alert] command` could not be read; said in the entry, so an
    /// alert that runs no command never looks like one that was never configured.
    public static func collect(unit: String, commandProblem: String? = nil) -> Alert {
        let result = firstLine(ChildProcess.run(["/bin/systemctl", "show", "-P", "Result", unit])?.output ?? "")
        let restarts = firstLine(ChildProcess.run(["/bin/systemctl", "show", "-P", "NRestarts", unit])?.output ?? "")
        let lastLines = ChildProcess.run(["/bin/journalctl", "-u", unit, "-n", String(quotedLines), "--no-pager", "-o", "short-iso"])?.output ?? ""
        let summary = "\(unit) failed for good (result: \(result.isEmpty ? "unknown" : result), restarts: \(restarts.isEmpty ? "?" : restarts)); "
            + "systemd will not restart it: fix the cause, then run 'systemctl restart \(unit)' "
            + "(after repeated failed starts, run 'systemctl reset-failed \(unit)' first). "
            + (commandProblem.map { "[alert] command was not run: \($0). " } ?? "")
            + "Its last log lines:\n\(lastLines)"
        // One entry with the quoted lines inside, at priority crit: journalctl -p crit finds it.
        let fields = ["MESSAGE=\(summary)", "PRIORITY=\(LogLevel.critical.rawValue)", "SYSLOG_IDENTIFIER=lightscope-alert",
                      "LIGHTSCOPE_FAILED_UNIT=\(unit)", "LIGHTSCOPE_RESULT=\(result)"]
        if !JournalSink.send(fields: fields) { Log.critical(summary) }
        return Alert(result: result, text: summary)
    }

    /// Leaves the alert for the `notify` step in `directory`, readable by its owner alone.
    public static func save(_ alert: Alert, in directory: String) -> String? {
        var status = stat()
        guard stat(directory, &status) == 0 else {
            return "cannot use \(directory): \(String(cString: strerror(errno)))"
        }
        let bytes = Array((alert.result + "\n" + alert.text).utf8)
        return ReplacedFile.write(bytes, to: directory + "/" + collectedFileName, mode: 0o600, durable: false,
                                  owner: (status.st_uid, status.st_gid))
    }

    /// The alert that `collect` left in `directory`, or nil.
    public static func load(from directory: String) -> Alert? {
        guard let bytes = ReplacedFile.read(directory + "/" + collectedFileName, maximumBytes: maximumCollectedBytes) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let newline = text.firstIndex(of: "\n") else { return nil }
        return Alert(result: String(text[..<newline]), text: String(text[text.index(after: newline)...]))
    }

    /// Runs the admin's command with the alert on its standard input and LIGHTSCOPE_UNIT and
    /// LIGHTSCOPE_RESULT in its environment.
    public static func notify(unit: String, alert: Alert, command: String?) -> Int32 {
        guard let command, !command.isEmpty else { return 0 }
        var environment = ProcessEnvironment.current
        environment["LIGHTSCOPE_UNIT"] = unit
        environment["LIGHTSCOPE_RESULT"] = alert.result
        let status = ChildProcess.run(["/bin/sh", "-c", command], environment: environment, input: alert.text)?.status ?? 127
        if status != 0 {
            Log.error("The alert command '\(command)' exited with status \(status); fix [alert] command in the config")
            return 1
        }
        Log.info("Alert command '\(command)' ran for \(unit)")
        return 0
    }

    private static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" }).trimmedSpaces
    }
}
