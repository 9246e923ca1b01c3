import LightScopeCore
import LightScopeFleet
import LightScopeStore
import LightScopeSystemd

/// The runner's handle on the fleet shipper, so that the runner wires it in a few lines: start
/// (and restart on reload, which re-reads the password), its heartbeat, its figures, stop.
struct FleetLink {
    static let stopTimeout: Duration = .seconds(5)
    private(set) var shipper: FleetShipper?

    /// Starts a shipper for `[fleet]`, replacing a running one; none when `url` is empty.
    /// A configuration a restart cannot fix is a config error (exit 78, or a rejected reload).
    mutating func start(settings: Settings, stateDirectory: String, environment: [String: String], anonymiser: AddressAnonymiser,
                        pipeline: EventPipeline?, wakeInterval: Duration, faultInjectionEnabled: Bool) throws(DaemonError) {
        let configuration: FleetShipper.Configuration?
        do {
            configuration = try .make(settings: settings, stateDirectory: stateDirectory, environment: environment,
                                      anonymiser: anonymiser, faultInjectionEnabled: faultInjectionEnabled)
        } catch {
            throw DaemonError("\(error.message); fix [fleet] in the config", exitCode: .config)
        }
        _ = stop()
        guard let configuration, let pipeline else {
            pipeline?.fleetLoss.isShipping = false
            return
        }
        let shipper = FleetShipper(configuration: configuration, fleetLoss: pipeline.fleetLoss, wakeInterval: wakeInterval,
                                   log: EventPipeline.systemLog)
        shipper.start()
        self.shipper = shipper
        Log.info("Fleet: shipping events to \(configuration.parameters.hostDescription) as \(configuration.hostName) (host id \(configuration.hostID))")
    }

    /// False if the shipper did not end in time.
    mutating func stop() -> Bool {
        defer { shipper = nil }
        return shipper?.stop(timeout: Self.stopTimeout) ?? true
    }

    /// Hands the shipper the runner's figures and adds its own to the snapshot.
    func publish(_ snapshot: inout DaemonSnapshot) {
        guard let shipper else { return }
        shipper.report(snapshot)
        snapshot.fleet = shipper.snapshot
    }

    /// Appended to STATUS= while the shipper has a problem.
    var statusNote: String {
        shipper?.snapshot.problem.map { "; \($0)" } ?? ""
    }
}
