import ArgumentParser
import LightScopeCore
import LightScopeSystem
import LightScopeDaemon

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running daemon's live state and its recent restarts.",
        discussion: """
        Reads the status file the daemon refreshes every few seconds (/run/lightscope/status.json, \
        or <state-dir>/run/status.json for a daemon started with --state-dir) and the run history \
        in the state directory. Exit status: 0 running and healthy, 1 running but stalled or not \
        refreshing its status, 3 not running, 4 unknown (the status file cannot be read: run as \
        root or as a member of group adm).
        """
    )

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("The daemon's state directory; default: $STATE_DIRECTORY or /var/lib/lightscope.", valueName: "dir"), completion: .directory)
    var stateDir: String?

    func run() throws {
        let environment = ProcessEnvironment.current
        let directory = StateDirectory.resolve(explicit: stateDir, environment: environment)
        let (report, health) = StatusReader.read(stateDirectory: directory, environment: environment)
        let storeFileExists = report.daemon?.store.map { !DoctorFacts.isMissing($0.path) } ?? true
        print(json ? StatusReader.json(report) : report.text(nowNanos: WallClock.nowNanos(), storeFileExists: storeFileExists))
        if health != .healthy { throw ExitCode(health.rawValue) }
    }
}
