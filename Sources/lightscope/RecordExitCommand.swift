import ArgumentParser
import LightScopeCore
import LightScopeSystem
import LightScopeDaemon

/// The unit's ExecStopPost= step: systemd passes how the run ended in the environment.
struct RecordExitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record-exit",
        abstract: "Record how the last run ended (run by the unit's ExecStopPost=).",
        discussion: "Reads $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS, as systemd sets them for ExecStopPost=, into the run history.",
        shouldDisplay: false
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's state directory.", valueName: "dir"), completion: .directory)
    var stateDir: String?

    func run() throws {
        let environment = ProcessEnvironment.current
        let directory = StateDirectory.resolve(explicit: stateDir, environment: environment)
        // The daemon's rule: never write into a directory whose owner could plant a link there.
        if let problem = SafeDirectory.problem(with: directory, role: "Refusing the state directory") {
            printError("lightscope record-exit: \(problem)")
            throw ExitCode(78)
        }
        let file = RunHistoryFile(stateDirectory: directory)
        var history = file.load()
        history.recordExit(serviceResult: environment["SERVICE_RESULT"], exitCode: environment["EXIT_CODE"],
                           exitStatus: environment["EXIT_STATUS"], atNanos: WallClock.nowNanos())
        if let problem = file.save(history) {
            printError("lightscope record-exit: \(problem)")
            throw ExitCode.failure
        }
        if let last = history.runs.last, let ending = last.ending, ending != .clean {
            printError("lightscope run (pid \(last.pid)) ended: \(ending.phrase)\(last.detail.map { " (\($0))" } ?? "")")
        }
    }
}
