import LightScopeCapture
import LightScopeCore
import LightScopeStore
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

    static func watchdogTiming(_ settings: Settings, systemdTimeout: Duration?) throws(DaemonError) -> WatchdogTiming {
        do {
            return try WatchdogTiming(systemdTimeout: systemdTimeout, settings: settings.watchdog)
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

    static func requireNamedInterfacesExist(_ names: [String], on interfaces: any InterfaceSystem) throws(DaemonError) {
        let present = interfaces.current()
        let missing = names.filter { name in !present.contains { $0.name == name } }
        guard missing.isEmpty else {
            let known = present.map(\.name).joined(separator: ", ")
            throw DaemonError("No such network interface: \(missing.joined(separator: ", ")) (this host has: \(known)); fix --interface or [capture] interfaces in the config",
                              exitCode: .config)
        }
    }

    static func ensureDirectory(_ path: String) throws(DaemonError) {
        var status = stat()
        if stat(path, &status) == 0 { return }
        guard mkdir(path, 0o750) == 0 || errno == EEXIST else {
            throw DaemonError("Cannot create the state directory \(path) (\(String(cString: strerror(errno)))): create it, or choose another with --state-dir",
                              exitCode: .config)
        }
    }
}
