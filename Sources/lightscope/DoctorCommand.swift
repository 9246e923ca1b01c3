import ArgumentParser
import LightScopeCore
import LightScopeDaemon
import LightScopeSystem
import LightScopeFleet
import LightScopeStore
#if canImport(Glibc)
import Glibc
#endif

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that LightScope and its watchdog are set up to work.",
        discussion: """
        One PASS or FAIL line per check, each failure with its fix; the exit status is 0 only when \
        every check passes. Checks: the unit (Type=notify, WatchdogSec > 0, NotifyAccess=main), the \
        service is running, its last watchdog ping is younger than WatchdogSec, the binary links \
        libsystemd, the capture capability (CAP_NET_RAW from the unit, or of this process outside \
        systemd), the configured interfaces exist, the config file is valid, the metrics listener is \
        loopback or kept from other hosts by the unit (which needs cgroup v2), the state directory \
        and event store are writable by the user the daemon runs as, and you can read the \
        status file and the store (as root or group adm). Without systemctl or with a \
        PID 1 other than systemd the three systemd checks fail and say so.
        Run it as root: the state directory belongs to the lightscope user.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Config file to check; default: \(RunOptions.defaultConfigPath).", valueName: "file"), completion: .file())
    var config: String?

    @OptionGroup var store: StoreOptions

    func run() throws {
        var checks: [DoctorCheck] = []
        let unit: SystemdUnitProperties?
        switch DoctorFacts.unitProperties() {
        case .success(let properties):
            checks.append(Doctor.unit(properties))
            checks.append(Doctor.service(properties))
            checks.append(Doctor.watchdogPing(properties, nowMonotonicMicros: MonotonicClock.nowNanos() / 1000))
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
        let sandbox: MetricsExposure.Sandbox = unit == nil ? .none : SandboxFacts.hasCgroupV2() ? .enforced : .noCgroupV2
        checks.append(Doctor.metrics(listen: settings.metrics.listen, sandbox: sandbox))
        checks.append(storeCheck(user: unit?.user))
        let runtime = RuntimeDirectory.resolve(stateDirectory: store.directory, environment: ProcessEnvironment.current)
        checks.append(Doctor.access(readErrors: DoctorFacts.readErrors([runtime + "/" + RuntimeDirectory.statusFileName,
                                                                        store.directory + "/events.sqlite"]),
                                    user: DoctorFacts.userName()))
        if let unit { checks.append(resourcesCheck(unit, settings: settings)) }
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

    /// The interfaces that will be captured: those configured, or every non-loopback one present.
    private func resourcesCheck(_ unit: SystemdUnitProperties, settings: Settings) -> DoctorCheck {
        let present = DoctorFacts.interfaceNames().filter { $0 != "lo" }
        let named = settings.capture.interfaces.isEmpty ? present.count : settings.capture.interfaces.count
        // Each packet loop ([capture] threads per interface) has its own ring and thread.
        let interfaces = named * settings.capture.threads.loops(onlineCPUs: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        return Doctor.resources(unit, requiredMemoryMiB: ResourceLimits.memoryMiB(settings, interfaces: interfaces,
                                                                                 eventQueueCapacity: EventPipeline.defaultQueueCapacity),
                                requiredTasks: ResourceLimits.tasks(interfaces: interfaces), interfaces: interfaces, settings: settings)
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
