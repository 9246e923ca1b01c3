import LightScopeCapture
import LightScopeCore
import LightScopeSystem
import LightScopeStore
#if canImport(Glibc)
import Glibc
#endif

/// What start-up and reload check before anything runs, each turning a problem into a
/// `DaemonError` that names it, the fix, and the exit status systemd should see. What to run
/// after the fix depends on whether the daemon is starting or reloading: the runner adds it.
enum StartupChecks {
    /// The config file with the command line's overrides, each interface named once.
    static func loadSettings(_ options: RunOptions) throws(DaemonError) -> Settings {
        let settings: Settings
        do {
            settings = try ConfigLoader.load(options)
        } catch {
            throw configError(error)
        }
        try requireDistinctInterfaces(settings.capture.interfaces, options: options)
        return settings
    }

    static func watchdogTiming(_ settings: Settings, systemdTimeout: Duration?) throws(DaemonError) -> WatchdogTiming {
        do {
            return try WatchdogTiming(systemdTimeout: systemdTimeout, settings: settings.watchdog)
        } catch {
            throw configError(error)
        }
    }

    /// `eth0, eth0` would open two captures of one interface, each event counted twice.
    static func requireDistinctInterfaces(_ names: [String], options: RunOptions) throws(DaemonError) {
        for (position, name) in names.enumerated() {
            guard let first = names[..<position].firstIndex(of: name) else { continue }
            if !options.interfaces.isEmpty {
                throw DaemonError("--interface \(name) is given twice (the \(ordinal(first + 1)) and the \(ordinal(position + 1)) --interface); give each interface once",
                                  exitCode: .config)
            }
            let source = options.configPath ?? RunOptions.defaultConfigPath
            throw DaemonError("invalid config \(source): [capture] interfaces names \(name) twice (entries \(first + 1) and \(position + 1)); name each interface once",
                              exitCode: .config)
        }
    }

    private static func ordinal(_ number: Int) -> String {
        switch number {
        case 1: "first"
        case 2: "second"
        case 3: "third"
        default: "\(number)th"
        }
    }

    /// The problem and where it is, without advice: what to run next is not the same at
    /// start-up (the unit is not active) as on a reload.
    private static func configError(_ error: ConfigError) -> DaemonError {
        let place = error.line.map { "\(error.source) line \($0)" } ?? error.source
        return DaemonError("invalid config \(place): \(error.problem)", exitCode: .config)
    }

    static func anonymiser(_ store: Settings.Store, directory: String, environment: [String: String]) throws(DaemonError) -> AddressAnonymiser {
        do {
            return try AddressAnonymiser.load(mode: store.anonymise, stateDirectory: directory, keyFile: store.anonymisationKeyFile,
                                              environment: environment)
        } catch {
            throw DaemonError(error.message, exitCode: .config)
        }
    }

    static func requireNamedInterfacesExist(_ names: [String], on interfaces: any InterfaceSystem) throws(DaemonError) {
        let present = interfaces.current()
        let missing = names.filter { name in !present.contains { $0.name == name } }
        guard missing.isEmpty else {
            let known = present.map(\.name).joined(separator: ", ")
            throw DaemonError("No such network interface: \(missing.joined(separator: ", ")) (this host has: \(known)); fix --interface or [capture] interfaces in the config",
                              exitCode: .config)
        }
    }

    /// Creates the directory if it is missing, then holds it to `SafeDirectory`'s rule: a
    /// directory that others can write is refused before LightScope writes anything into it.
    static func ensureDirectory(_ path: String, role: String) throws(DaemonError) {
        guard mkdir(path, 0o750) == 0 || errno == EEXIST else {
            throw DaemonError("Cannot create the \(role) \(path) (\(String(cString: strerror(errno)))): create it, or choose another with --state-dir",
                              exitCode: .config)
        }
        if let problem = SafeDirectory.problem(with: path, role: "Refusing the \(role)") {
            throw DaemonError(problem, exitCode: .config)
        }
    }
}
