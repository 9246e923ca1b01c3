import ArgumentParser
import LightScopeCore
import LightScopeDaemon

/// Run by lightscope-alert@.service (the unit's OnFailure=).
struct AlertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alert",
        abstract: "Announce that a unit failed for good (run by lightscope-alert@.service).",
        discussion: """
        Writes one priority-crit journal entry with the unit's result and last log lines, then runs \
        [alert] command from the config, if set, with that text on its standard input and \
        LIGHTSCOPE_UNIT and LIGHTSCOPE_RESULT in its environment.
        """
    )

    @Argument(help: ArgumentHelp("The failed unit, e.g. lightscope.service.", valueName: "unit"))
    var unit: String

    @Option(name: .long, help: ArgumentHelp("Config file.", valueName: "file"), completion: .file())
    var config: String?

    func run() throws {
        // A broken config (maybe the very reason for the failure) must not silence the alert.
        let path = config ?? RunOptions.defaultConfigPath
        var command: String?
        var commandProblem: String?
        if let bytes = ConfigLoader.readBytes(path) {
            do {
                command = try ConfigFile.alertCommand(in: bytes, source: path)
            } catch {
                commandProblem = error.description
            }
        }
        let status = FailureAlert.run(unit: unit, command: command, commandProblem: commandProblem)
        if status != 0 { throw ExitCode(status) }
    }
}
