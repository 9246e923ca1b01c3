import ArgumentParser
import LightScopeCore
import LightScopeDaemon
#if canImport(Glibc)
import Glibc
#endif

@main
struct LightScopeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightscope",
        abstract: "Network telescope for the closed ports of a live server.",
        discussion: "Run it as lightscope.service under systemd; see 'man lightscope' and the README.",
        version: LightScopeVersion.current,
        subcommands: [RunCommand.self]
    )
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Capture and watch for unwanted inbound traffic (the daemon).",
        discussion: """
        Without --interface it captures on every up, non-loopback interface that has an address, \
        and picks up interfaces that appear later. Under systemd it speaks the sd_notify protocol \
        (READY, STATUS, WATCHDOG, RELOADING, STOPPING); in a terminal that is skipped.
        Signals: SIGTERM/SIGINT stop, SIGHUP reloads the config.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Config file.", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Capture on this interface (repeatable); overrides [capture] interfaces.", valueName: "name"))
    var interface: [String] = []

    @Option(name: .long, help: ArgumentHelp("Log level: error, warning, notice, info or debug; overrides [log] level.", valueName: "level"))
    var logLevel: String?

    func validate() throws {
        if let logLevel, LogLevel(name: logLevel) == nil {
            throw ValidationError("'\(logLevel)' is not a log level; use one of \(LogLevel.allCases.map(\.name).joined(separator: ", "))")
        }
        if let bad = interface.first(where: { !InterfaceName.isValid($0) }) {
            throw ValidationError("'\(bad)' is not a valid interface name")
        }
    }

    func run() throws {
        let options = RunOptions(
            configPath: config,
            interfaces: interface,
            logLevel: logLevel.flatMap(LogLevel.init(name:)),
            faultInjectionEnabled: getenv(FaultInjection.environmentVariable).map { String(cString: $0) == "1" } ?? false
        )
        let status = Runner(options: options).run()
        if status != 0 { throw ExitCode(status) }
    }
}
