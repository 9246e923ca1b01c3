import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeReplay
#if canImport(Glibc)
import Glibc
#endif

@main
struct LightScopeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightscope",
        abstract: "Network telescope for the closed ports of a live server.",
        discussion: """
        Run the daemon as lightscope.service under systemd. The operator commands read its local \
        event store (events, top, blocklist) or check its set-up (doctor, check-config). See 'man lightscope' and the README.
        """,
        version: LightScopeVersion.current,
        subcommands: [RunCommand.self, StatusCommand.self, EventsCommand.self, TopCommand.self, BlocklistCommand.self,
                      DoctorCommand.self, CheckConfigCommand.self, ReloadCommand.self, ReplayCommand.self, RecordExitCommand.self,
                      AlertCommand.self, FleetCommand.self]
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

    @Option(name: .long, help: ArgumentHelp("Config file.", valueName: "file"), completion: .file())
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Capture on this interface (repeatable); overrides [capture] interfaces.", valueName: "name"),
            completion: .shellCommand("ls /sys/class/net"))
    var interface: [String] = []

    @Option(name: .long, help: ArgumentHelp("Log level: \(LogLevel.allCases.map(\.name).joined(separator: ", ")); overrides [log] level.",
                                            valueName: "level"),
            completion: .list(LogLevel.allCases.map(\.name)))
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp("State directory (event store, keys); default: $STATE_DIRECTORY or /var/lib/lightscope.", valueName: "dir"), completion: .directory)
    var stateDir: String?

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
            faultInjectionEnabled: getenv(FaultInjection.environmentVariable).map { String(cString: $0) == "1" } ?? false,
            stateDirectory: stateDir
        )
        let status = Runner(options: options, environment: ProcessEnvironment.current).run()
        if status != 0 { throw ExitCode(status) }
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the detection engine over a capture file.",
        discussion: """
        Deterministic: driven by the capture's timestamps; probes still pending at the end of the \
        file are resolved as if time ran on. Without --local, addresses that answer connection \
        attempts (SYN-ACK or RST) are taken as local.
        """
    )

    @Argument(help: ArgumentHelp("A pcap or pcapng file.", valueName: "file"), completion: .file())
    var file: String

    @Flag(help: "Print one JSON event per line instead of the summary.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("A local address prefix of the captured host, IPv4 or IPv6 (repeatable).", valueName: "cidr"))
    var local: [String] = []

    @Option(name: .long, help: ArgumentHelp("Config file for the [detection] thresholds.", valueName: "file"), completion: .file())
    var config: String?

    func validate() throws {
        if let bad = local.first(where: { IPPrefix($0) == nil }) {
            throw ValidationError("'\(bad)' is not an address prefix; use e.g. 192.0.2.0/24 or 2001:db8::/32")
        }
    }

    func run() throws {
        let settings = try commandSettings(config: config)
        // Progress on stderr only when a person watches it there: never in a pipe, a file or a benchmark.
        let progress = isatty(STDERR_FILENO) == 1 ? ReplayProgress(totalBytes: ReplayProgress.size(of: file)) : nil
        let replay = Replay(path: file, json: json, local: local.compactMap(IPPrefix.init), settings: settings.detection,
                            processExitsAfterwards: true, progress: progress)
        // This process fills its tables and ends: huge pages pay for its rings too (see `TableMemory`).
        TableMemory.preferHugePages()
        do {
            let summary = try replay.run { print($0) }
            if let damage = summary.damage {
                printError("error: \(file) is damaged (\(damage)); the \(summary.packets) packets before the damage were processed")
                throw ExitCode.failure
            }
        } catch let error as DaemonError {
            printError("error: \(error.message)")
            throw ExitCode(error.exitCode.rawValue)
        }
    }
}

/// One line to stderr, escaped (`SafeText`): errors quote paths, config values and store text.
func printError(_ text: String) {
    var line = Array((SafeText.escaped(text) + "\n").utf8)
    _ = write(STDERR_FILENO, &line, line.count)
}
