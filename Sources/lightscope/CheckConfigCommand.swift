import ArgumentParser
import LightScopeCore
import LightScopeDaemon

/// Checks a config file before it is applied, as `nginx -t` or `sshd -t` do: the same reader
/// and checks as `lightscope run` and a reload, without touching the running daemon.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a config file without applying it.",
        discussion: """
        Reads the file as 'lightscope run' and a reload do: every key, every value and the checks \
        across them. Exit status 0 when it is valid (an absent default file is: the defaults apply), \
        78 with the file, the line and the problem otherwise.
        Example: lightscope check-config && systemctl reload lightscope
        """
    )

    @Option(name: .long, help: ArgumentHelp("Config file to check; default: \(RunOptions.defaultConfigPath).", valueName: "file"), completion: .file())
    var config: String?

    func run() throws {
        let path = config ?? RunOptions.defaultConfigPath
        _ = try commandSettings(config: config)
        print(SafeText.escaped(DoctorFacts.exists(path) ? "\(path): valid" : "\(path) is absent: the defaults apply"))
    }
}
