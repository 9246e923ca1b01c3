import ArgumentParser
import LightScopeCore
import LightScopeDaemon

/// The unit's ExecReload= step: `systemctl reload lightscope` fails when the config is rejected.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Reload the running daemon's config and say whether it took it.",
        discussion: """
        Sends SIGHUP and waits for the daemon to publish the outcome in its status file. Exit status: \
        0 the new config is in force; 78 it was rejected (the reason is printed; the previous config stays \
        in force); 1 no daemon, no answer within 30 s, or no permission. The unit's ExecReload= runs it, so \
        'systemctl reload lightscope' fails the same way.
        """
    )

    @Option(name: .long, help: ArgumentHelp("The daemon's process id (systemd's $MAINPID); default: the one in its status file.", valueName: "pid"))
    var pid: Int32?

    @Option(name: .long, help: ArgumentHelp("The daemon's state directory; default: $STATE_DIRECTORY or /var/lib/lightscope.", valueName: "dir"))
    var stateDir: String?

    func run() throws {
        let environment = ProcessEnvironment.current
        let directory = StateDirectory.resolve(explicit: stateDir, environment: environment)
        let outcome = ReloadRequest(stateDirectory: directory, environment: environment).run(pid: pid)
        if outcome.exitCode == 0 {
            print(outcome.message)
        } else {
            printError(outcome.message)
            throw ExitCode(outcome.exitCode)
        }
    }
}
