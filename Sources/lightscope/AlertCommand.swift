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
        LIGHTSCOPE_UNIT and LIGHTSCOPE_RESULT in its environment. The unit runs the two halves \
        apart: --collect as root (it reads the journal), --notify in the sandbox (the admin's command), \
        passing the alert through $RUNTIME_DIRECTORY.
        """
    )

    @Argument(help: ArgumentHelp("The failed unit, e.g. lightscope.service.", valueName: "unit"))
    var unit: String

    @Option(name: .long, help: ArgumentHelp("Config file.", valueName: "file"), completion: .file())
    var config: String?

    @Flag(name: .long, help: "Only write the journal entry and leave the alert in $RUNTIME_DIRECTORY.")
    var collect = false

    @Flag(name: .long, help: "Only run the alert command, with the alert --collect left in $RUNTIME_DIRECTORY.")
    var notify = false

    func run() throws {
        let directory = ProcessEnvironment.current["RUNTIME_DIRECTORY"]?.split(separator: ":").first.map(String.init)
        if collect || notify, directory == nil {
            throw ValidationError("--collect and --notify pass the alert through $RUNTIME_DIRECTORY, which lightscope-alert@.service sets")
        }
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
        if collect {
            if let problem = FailureAlert.save(FailureAlert.collect(unit: unit, commandProblem: commandProblem), in: directory!) {
                printError("lightscope alert: cannot leave the alert for --notify (\(problem))")
                throw ExitCode.failure
            }
            return
        }
        let status: Int32
        if notify {
            guard let alert = FailureAlert.load(from: directory!) else {
                printError("lightscope alert: no alert in \(directory!)/\(FailureAlert.collectedFileName): --collect runs first")
                throw ExitCode.failure
            }
            status = FailureAlert.notify(unit: unit, alert: alert, command: command)
        } else {
            status = FailureAlert.run(unit: unit, command: command, commandProblem: commandProblem)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
