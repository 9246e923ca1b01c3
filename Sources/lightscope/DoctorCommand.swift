import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeFleet

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that LightScope and its watchdog are set up to work.",
        discussion: """
        One PASS or FAIL line per check, each failure with its fix; the exit status is 0 only when \
        every check passes. Checks: the unit (Type=notify, WatchdogSec > 0, NotifyAccess=main), the \
        service is running, its last watchdog ping is younger than WatchdogSec, the binary links \
        libsystemd, the capture capability (CAP_NET_RAW from the unit, or of this process outside \
        systemd), the configured interfaces exist, the config file is valid, and the state directory \
        and event store are writable by the user the daemon runs as. Without systemctl or with a \
        PID 1 other than systemd the three systemd checks fail and say so.
        Run it as root: the state directory belongs to the lightscope user.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Config file to check; default: \(RunOptions.defaultConfigPath).", valueName: "file"))
    var config: String?

    @OptionGroup var store: StoreOptions

    func run() throws {
        var checks: [DoctorCheck] = []
        let unit: SystemdUnitProperties?
        switch DoctorFacts.unitProperties() {
        case .success(let properties):
            checks.append(Doctor.unit(properties))
            checks.append(Doctor.service(properties))
            checks.append(Doctor.watchdogPing(properties, nowMonotonicMicros: DoctorFacts.monotonicMicros()))
            unit = properties.isLoaded ? properties : nil
        case .failure(let unavailable):
            checks += Doctor.systemdUnavailable(unavailable.reason)
            unit = nil
        }
        checks.append(Doctor.libsystemd(needed: DoctorFacts.neededLibraries(), binary: DoctorFacts.binaryPath()))
        checks.append(Doctor.captureCapability(unit: unit, effectiveCapabilities: DoctorFacts.effectiveCapabilities(), uid: DoctorFacts.effectiveUID()))

        let path = config ?? RunOptions.defaultConfigPath
        var settings = Settings()
        do {
            settings = try ConfigLoader.load(RunOptions(configPath: config, interfaces: [], logLevel: nil, faultInjectionEnabled: false))
            checks.append(Doctor.config(path: path, exists: DoctorFacts.exists(path), error: nil))
        } catch {
            checks.append(Doctor.config(path: path, exists: DoctorFacts.exists(path), error: error))
        }
        checks.append(Doctor.interfaces(configured: settings.capture.interfaces, existing: DoctorFacts.interfaceNames()))
        checks.append(storeCheck(user: unit?.user))
        if let url = settings.fleet.url { checks.append(fleetCheck(url: url, unit: unit)) }

        checks.forEach { print($0.line) }
        let failed = checks.filter { !$0.passed }.count
        print(failed == 0 ? "All \(checks.count) checks passed." : "\(failed) of \(checks.count) checks failed.")
        if failed > 0 { throw ExitCode.failure }
    }

    private func fleetCheck(url: String, unit: SystemdUnitProperties?) -> DoctorCheck {
        let collector = (try? ConnectionParameters(url: url).hostDescription) ?? url
        let addresses: Result<[IPAddress], Doctor.FleetLookupFailure>
        do {
            addresses = .success(try FleetDropIn.collectorAddresses(url: url).compactMap(IPAddress.init))
        } catch {
            addresses = .failure(Doctor.FleetLookupFailure(reason: error.message))
        }
        return Doctor.fleetSandbox(collector: collector, addresses: addresses, unit: unit)
    }

    private func storeCheck(user: String?) -> DoctorCheck {
        let directory = store.directory
        guard let identity = DoctorFacts.identity(of: user) else {
            return .fail("store", "the unit's user \(user ?? "?") does not exist", fix: "reinstall the lightscope package, whose postinst creates it")
        }
        return Doctor.store(directory: directory, directoryFacts: DoctorFacts.fileFacts(directory),
                            databaseFacts: DoctorFacts.fileFacts(directory + "/events.sqlite"),
                            readOnlyFileSystem: DoctorFacts.isReadOnlyFileSystem(directory),
                            user: identity.name, uid: identity.uid, groups: identity.groups)
    }
}
