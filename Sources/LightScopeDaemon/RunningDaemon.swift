import LightScopeCore
import LightScopeFleet
import LightScopeStore
import LightScopeSystemd

/// Everything a started daemon runs, from a successful start to the stop. The runner holds
/// one only once start-up has succeeded, so nothing in it is optional for "not started yet".
///
/// Start order: the event writer first (every other loop feeds it), then the other services
/// (metrics, the fleet shipper), then the captures. Stop order is the reverse: the captures first (their flush
/// reports pending probes into the writer), then the services, last started first, so the
/// writer commits what everyone handed it before it ends.
final class RunningDaemon {
    /// A loop beside the captures, with how long its stop may take.
    struct Service {
        let loop: any SupervisedLoop
        let stopTimeout: Duration
    }

    private(set) var settings: Settings
    private(set) var supervisor: WatchdogSupervisor
    let pipeline: EventPipeline
    let tally: EventTally
    let captures: CaptureSet
    /// In start order; the event writer is first.
    private(set) var services: [Service]
    private(set) var metrics: MetricsServer?
    /// nil while `[fleet] url` is empty (see FleetLink).
    var fleet: FleetShipper?
    var statusFile: StatusFile
    var status: StatusReporter
    /// What detection knows about the host, as last read (the captures hold what they were told).
    var hostFacts = HostFactsFeed()
    var lossEpisodes = LossEpisodes()
    /// The latest reload's outcome, published for `lightscope reload`.
    var lastReload: DaemonSnapshot.Reload?
    var nextRescanNanos: UInt64 = 0
    var nextStatusNanos: UInt64 = 0
    /// Whether the unit's IP rules can keep a metrics listener from other hosts.
    var metricsSandbox: MetricsExposure.Sandbox = .enforced

    /// How long the event writer may take to commit what is queued at stop.
    static let pipelineStopTimeout: Duration = .seconds(20)

    /// - Parameter pipeline: started; the other services start through `startService`.
    init(settings: Settings, supervisor: WatchdogSupervisor, pipeline: EventPipeline, tally: EventTally, captures: CaptureSet,
         statusFile: StatusFile, status: StatusReporter) {
        self.settings = settings
        self.supervisor = supervisor
        self.pipeline = pipeline
        self.tally = tally
        self.captures = captures
        self.statusFile = statusFile
        self.status = status
        services = [Service(loop: pipeline, stopTimeout: Self.pipelineStopTimeout)]
    }

    var timing: WatchdogTiming { supervisor.timing }

    /// Every supervised loop, captures included.
    var loops: [any SupervisedLoop] { services.map(\.loop) + captures.loopsInOrder }

    /// Stops everything in the reverse of start order. Returns the names of the loops that hung.
    func stopAll() -> [String] {
        var hung = captures.closeAll().map { "packet loop \($0)" }
        for service in services.reversed() where !service.loop.stop(timeout: service.stopTimeout) {
            hung.append(service.loop.loopName)
        }
        return hung
    }

    /// Starts a loop beside the captures (metrics, a fleet shipper) and supervises it from now
    /// on; it will stop before every service started earlier, the event writer last.
    func startService(_ loop: any SupervisedLoop, stopTimeout: Duration) {
        loop.start()
        services.append(Service(loop: loop, stopTimeout: stopTimeout))
    }

    /// Stops a service and no longer supervises it. False if it hung (it is left behind).
    @discardableResult
    func stopService(_ loop: any SupervisedLoop) -> Bool {
        guard let index = services.firstIndex(where: { $0.loop === loop }) else { return true }
        let service = services.remove(at: index)
        return service.loop.stop(timeout: service.stopTimeout)
    }

    /// Pings systemd if every loop made progress; returns the stalls found, described for the run history.
    func checkWatchdog(runner: Heartbeat, nowNanos: UInt64, wallNanos: UInt64) -> [String] {
        supervisor.check(heartbeats: [runner] + loops.map(\.heartbeat), nowNanos: nowNanos, wallNanos: wallNanos)
        return supervisor.takeNewStalls()
    }

    // MARK: - Reload

    /// Puts reloaded settings in force; only what cannot fail (see `ReloadPlan`).
    func apply(_ settings: Settings, anonymiser: AddressAnonymiser, timing: WatchdogTiming, notifier: any NotifySocket, nowNanos: UInt64) {
        self.settings = settings
        Log.level = settings.log.level
        captures.detectionSettings = settings.detection
        pipeline.reconfigure(settings: settings.store, anonymiser: anonymiser)
        pipeline.setWakeInterval(timing.loopWake)
        fleet?.setWakeInterval(timing.loopWake)
        if timing != supervisor.timing {
            let previous = supervisor
            supervisor = WatchdogSupervisor(timing: timing, notifier: notifier, nowNanos: nowNanos)
            supervisor.carryCounters(from: previous)
        }
    }

    /// Stops the running metrics listener to bind its port on another address, for a reload
    /// that must (the new address covers the old one). If the new one cannot bind, the old one
    /// is put back, serving what it served, and the reload is rejected.
    func handOverMetricsPort(to endpoint: MetricsEndpoint, wakeInterval: Duration) throws(DaemonError) -> MetricsServer {
        guard let running = metrics else { preconditionFailure("no listener holds the port") }
        let figures = running.published
        switchMetrics(to: nil)
        do {
            return try MetricsServer(endpoint: endpoint, wakeInterval: wakeInterval)
        } catch {
            do {
                let restored = try MetricsServer(endpoint: running.endpoint, wakeInterval: running.wakeInterval)
                if let figures { restored.publish(figures) }
                switchMetrics(to: restored)
            } catch let lost {
                Log.error("Metrics are off until the next reload: \(lost.daemonError.message)")
            }
            throw error.daemonError
        }
    }

    /// Starts `replacement` (already listening), then stops the running listener.
    func switchMetrics(to replacement: MetricsServer?) {
        let previous = metrics
        if let replacement {
            startService(replacement, stopTimeout: CaptureSet.stopTimeout)
            Log.info("Serving Prometheus metrics on http://\(replacement.endpoint)/metrics")
            if let warning = MetricsExposure.warning(listen: replacement.endpoint, sandbox: metricsSandbox) {
                Log.warning(warning)
            }
        }
        metrics = replacement
        if let previous { stopService(previous) }
    }
}
