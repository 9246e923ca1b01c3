import LightScopeCore
import LightScopeStore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// `lightscope alert UNIT`, run by `lightscope-alert@UNIT.service` when lightscope.service
/// fails for good (start limit hit, or a config error that stops the restarts): one
/// priority-crit journal entry with the unit's last log lines, then the admin's command.
public enum FailureAlert {
    /// Log lines of the failed unit quoted in the alert.
    public static let quotedLines = 20

    /// `commandProblem`: why `[alert] command` could not be read; said in the entry, so an
    /// alert that runs no command never looks like one that was never configured.
    public static func run(unit: String, command: String?, commandProblem: String? = nil) -> Int32 {
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
        guard let command, !command.isEmpty else { return 0 }
        var environment = ProcessEnvironment.current
        environment["LIGHTSCOPE_UNIT"] = unit
        environment["LIGHTSCOPE_RESULT"] = result
        let status = ChildProcess.run(["/bin/sh", "-c", command], environment: environment, input: summary)?.status ?? 127
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
