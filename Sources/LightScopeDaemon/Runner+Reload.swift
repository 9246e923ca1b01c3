import LightScopeCore
import LightScopeFleet
import LightScopeStore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// A reload that is ready to apply: everything in it has been checked, and everything that
/// could fail (reading the config, the key, the fleet password, capture privileges, binding a
/// new metrics listener) has been done, without touching what runs.
struct ReloadPlan {
    var settings: Settings
    var timing: WatchdogTiming
    var anonymiser: AddressAnonymiser
    /// The captures are closed and opened again with the new settings.
    var reopenCaptures: Bool
    /// A listener already bound for a changed `[metrics] listen`; nil with `metricsChanged`
    /// means metrics are turned off.
    var metrics: MetricsServer?
    var metricsChanged: Bool
    /// The fleet shipper's configuration (nil: no shipping); a shipper is replaced only when
    /// it changed (`[fleet]`, the password its file holds, the anonymisation of its heartbeat).
    var fleet: FleetShipper.Configuration?
    var fleetChanged: Bool
}

extension Runner {
    /// SIGHUP: re-read the config. It applies fully or not at all: a bad new config, or one
    /// that cannot be put in force, is rejected and the previous one stays, whole.
    func reload(_ daemon: RunningDaemon) {
        edges.notifier.reloading()
        Log.info("Reloading configuration (SIGHUP)")
        let generation = (daemon.lastReload?.generation ?? 0) + 1
        do {
            let plan = try prepareReload(daemon)
            applyReload(plan, to: daemon)
            Log.info("Configuration reloaded: \(describe(plan.timing))")
            daemon.lastReload = DaemonSnapshot.Reload(generation: generation, applied: true, problem: nil, exitCode: nil,
                                                      atNanos: edges.clock.wallNanos())
        } catch {
            let again = isUnderSystemd ? "systemctl reload lightscope" : "kill -HUP \(getpid())"
            let problem = "\(error.message). Once fixed, reload again: \(again)"
            Log.error("Reload rejected, the previous configuration stays in force: \(problem)")
            daemon.lastReload = DaemonSnapshot.Reload(generation: generation, applied: false, problem: problem,
                                                      exitCode: error.exitCode.rawValue, atNanos: edges.clock.wallNanos())
        }
        let text = daemon.supervisor.stallStatus ?? daemon.status.refresh(captures: daemon.captures, nowNanos: edges.clock.monotonicNanos())
        // The outcome is in the status file (for `lightscope reload`) and metrics before READY=1 says "done".
        publishSnapshot(daemon, statusText: text)
        edges.notifier.ready(status: text)
        scheduleNext(daemon)
    }

    private func prepareReload(_ daemon: RunningDaemon) throws(DaemonError) -> ReloadPlan {
        let settings = try StartupChecks.loadSettings(options)
        let timing = try StartupChecks.watchdogTiming(settings, systemdTimeout: edges.notifier.watchdogTimeout)
        try StartupChecks.requireNamedInterfacesExist(settings.capture.interfaces, on: edges.interfaces)
        let anonymiser = try StartupChecks.anonymiser(settings.store, directory: stateDirectory, environment: environment)
        let reopenCaptures = settings.capture != daemon.settings.capture || settings.detection != daemon.settings.detection
            || timing.loopWake != daemon.timing.loopWake
        try daemon.captures.checkPrivileges(settings: settings.capture, reopeningAll: reopenCaptures)
        let fleet = try FleetLink.configuration(settings, stateDirectory: stateDirectory, environment: environment,
                                                anonymiser: anonymiser, faultInjectionEnabled: options.faultInjectionEnabled)
        // Last, because it holds a port: nothing after it may fail.
        let metricsChanged = settings.metrics.listen != daemon.metrics?.endpoint
        var metrics: MetricsServer?
        if metricsChanged, let endpoint = settings.metrics.listen {
            do {
                metrics = try MetricsServer(endpoint: endpoint, wakeInterval: timing.loopWake)
            } catch where error.isAddressInUse && daemon.metrics?.endpoint.port == endpoint.port {
                // 127.0.0.1:9870 -> 0.0.0.0:9870: the running listener holds the port.
                metrics = try daemon.handOverMetricsPort(to: endpoint, wakeInterval: timing.loopWake)
            } catch {
                throw error.daemonError
            }
        }
        return ReloadPlan(settings: settings, timing: timing, anonymiser: anonymiser, reopenCaptures: reopenCaptures,
                          metrics: metrics, metricsChanged: metricsChanged, fleet: fleet, fleetChanged: fleet != daemon.fleet?.configuration)
    }

    /// Puts a prepared reload in force. Nothing here fails: what could has been done by `prepareReload`.
    private func applyReload(_ plan: ReloadPlan, to daemon: RunningDaemon) {
        daemon.apply(plan.settings, anonymiser: plan.anonymiser, timing: plan.timing, notifier: edges.notifier,
                     nowNanos: edges.clock.monotonicNanos())
        if plan.metricsChanged { daemon.switchMetrics(to: plan.metrics) }
        if plan.fleetChanged { daemon.switchFleet(to: plan.fleet, wakeInterval: plan.timing.loopWake) }
        if plan.reopenCaptures { daemon.captures.closeAll() }
        do {
            try daemon.captures.reconcile(settings: plan.settings.capture, wakeInterval: plan.timing.loopWake)
        } catch {
            // Privileges were there a moment ago (`checkPrivileges`); lost since, they cannot come back.
            Log.error(error.message)
            edges.notifier.status(error.message)
            requestStop()
        }
    }
}
