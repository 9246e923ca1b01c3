import LightScopeCore
import LightScopeFleet
import LightScopeStore
import LightScopeSystemd

/// The fleet shipper as the runner sees it: a configuration made (and checked) apart from the
/// loop that uses it, so that start-up and a reload check it before anything runs or changes.
enum FleetLink {
    static let stopTimeout: Duration = .seconds(5)

    /// The shipper's configuration for `settings`; nil when `[fleet] url` is empty. What a
    /// restart cannot fix (the URL, the password file, the host id) is a config error: exit 78
    /// at start-up, a rejected reload later. The password file is read each time, so a reload
    /// puts a new password in force.
    static func configuration(_ settings: Settings, stateDirectory: String, environment: [String: String],
                              anonymiser: AddressAnonymiser, faultInjectionEnabled: Bool) throws(DaemonError) -> FleetShipper.Configuration? {
        do {
            return try .make(settings: settings, stateDirectory: stateDirectory, environment: environment,
                             anonymiser: anonymiser, faultInjectionEnabled: faultInjectionEnabled)
        } catch {
            throw DaemonError("\(error.message); fix [fleet] in the config", exitCode: .config)
        }
    }
}

extension RunningDaemon {
    /// Stops the running shipper, then starts one for `configuration` (nil: none) through
    /// `startService`, so that the watchdog supervises it from now on. Never two at once: both
    /// would read the same events after the cursor.
    func switchFleet(to configuration: FleetShipper.Configuration?, wakeInterval: Duration) {
        if let previous = fleet {
            if !stopService(previous) { Log.error("Fleet: the previous shipper did not stop within \(DurationText.format(FleetLink.stopTimeout)); it is left behind") }
            fleet = nil
        }
        pipeline.isFleetShipping = configuration != nil
        guard let configuration else { return }
        let shipper = FleetShipper(configuration: configuration, lost: pipeline.counters.lost, wakeInterval: wakeInterval,
                                   log: EventPipeline.systemLog)
        startService(shipper, stopTimeout: FleetLink.stopTimeout)
        fleet = shipper
        Log.info("Fleet: shipping events to \(configuration.parameters.hostDescription) as \(configuration.hostName) (host id \(configuration.hostID))")
    }

    /// Appended to STATUS= while the shipper has a problem.
    var fleetStatusNote: String {
        fleet?.snapshot.problem.map { "; \($0)" } ?? ""
    }
}
