import LightScopeCapture
import LightScopeCore
import LightScopeStore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// What start-up and reload check before anything runs, each turning a problem into a
/// `DaemonError` that names it, the fix, and the exit status systemd should see.
enum StartupChecks {
    static func loadSettings(_ options: RunOptions) throws(DaemonError) -> Settings {
        do {
            return try ConfigLoader.load(options)
        } catch {
            throw DaemonError(error.description, exitCode: .config)
        }
    }

    static func watchdogTiming(_ settings: Settings) throws(DaemonError) -> WatchdogTiming {
        do {
            return try WatchdogTiming(systemdTimeout: SystemdNotifier.watchdogTimeout(), settings: settings.watchdog)
        } catch {
            throw DaemonError(error.description, exitCode: .config)
        }
    }

    static func anonymiser(_ store: Settings.Store, directory: String) throws(DaemonError) -> AddressAnonymiser {
        do {
            return try AddressAnonymiser.load(mode: store.anonymise, stateDirectory: directory)
        } catch {
            throw DaemonError(error.message, exitCode: .config)
        }
    }

    static func requireNamedInterfacesExist(_ names: [String]) throws(DaemonError) {
        let missing = names.filter { NetworkInterfaces.index(of: $0) == 0 }
        guard missing.isEmpty else {
            let known = NetworkInterfaces.current().map(\.name).joined(separator: ", ")
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
