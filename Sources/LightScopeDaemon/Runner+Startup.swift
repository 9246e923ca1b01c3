import LightScopeCore
import LightScopeStore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

extension Runner {
    /// Checks everything, then starts the loops in order (see `RunningDaemon`), then READY=1.
    /// On a failure the loops already started are stopped again, in reverse order.
    func start() throws(DaemonError) -> RunningDaemon {
        try StartupChecks.ensureDirectory(stateDirectory, role: "state directory")
        try StartupChecks.ensureDirectory(RuntimeDirectory.resolve(stateDirectory: stateDirectory, environment: environment),
                                          role: "runtime directory")
        thisRun.begin(stateDirectory: stateDirectory, pid: getpid(), atNanos: startedAtNanos)
        let settings = try StartupChecks.loadSettings(options)
        Log.level = settings.log.level
        let timing = try StartupChecks.watchdogTiming(settings, systemdTimeout: edges.notifier.watchdogTimeout)
        try StartupChecks.requireNamedInterfacesExist(settings.capture.interfaces, on: edges.interfaces)
        let anonymiser = try StartupChecks.anonymiser(settings.store, directory: stateDirectory, environment: environment)
        let fleet = try FleetLink.configuration(settings, stateDirectory: stateDirectory, environment: environment,
                                                anonymiser: anonymiser, faultInjectionEnabled: options.faultInjectionEnabled)
        edges.notifier.extendTimeout(by: Self.startupExtension)

        let lost = LostEvents()
        let pipeline = EventPipeline(stateDirectory: stateDirectory, settings: settings.store, anonymiser: anonymiser,
                                     queueCapacity: testEventQueueCapacity ?? EventPipeline.defaultQueueCapacity,
                                     wakeInterval: timing.loopWake, lost: lost)
        pipeline.isFleetShipping = fleet != nil
        pipeline.start()
        let metrics: MetricsServer?
        do {
            metrics = try settings.metrics.listen.map { endpoint throws(MetricsListener.BindError) in
                try MetricsServer(endpoint: endpoint, wakeInterval: timing.loopWake)
            }
        } catch {
            _ = pipeline.stop(timeout: RunningDaemon.pipelineStopTimeout)
            throw error.daemonError
        }
        let tally = EventTally(downstream: pipeline)
        let daemon = RunningDaemon(
            settings: settings, supervisor: WatchdogSupervisor(timing: timing, notifier: edges.notifier, nowNanos: edges.clock.monotonicNanos()),
            pipeline: pipeline, tally: tally,
            captures: CaptureSet(interfaces: edges.interfaces, detectionSettings: settings.detection, sink: tally, lost: lost),
            statusFile: StatusFile(directory: RuntimeDirectory.resolve(stateDirectory: stateDirectory, environment: environment)),
            status: StatusReporter(startNanos: edges.clock.monotonicNanos()))
        daemon.metricsSandbox = SandboxFacts.current(environment: environment)
        daemon.switchMetrics(to: metrics)
        daemon.switchFleet(to: fleet, wakeInterval: timing.loopWake)
        refreshHostFacts(daemon, listening: true, nowNanos: edges.clock.monotonicNanos())
        do {
            try daemon.captures.reconcile(settings: settings.capture, wakeInterval: timing.loopWake)
        } catch {
            _ = daemon.stopAll()
            throw error
        }
        let text = daemon.status.refresh(captures: daemon.captures, nowNanos: edges.clock.monotonicNanos())
        Log.info("LightScope \(LightScopeVersion.current) started: \(describe(timing)); state in \(stateDirectory); \(text)")
        if options.faultInjectionEnabled {
            Log.warning("Fault injection is on (\(FaultInjection.environmentVariable)=1): SIGUSR1 hangs the packet loops, SIGUSR2 the runner loop")
        }
        if let recoveryLine = thisRun.recoveryLine { Log.warning(recoveryLine) }
        // What READY=1 promises is there when systemd says "started": the status file, and metrics with figures.
        publishSnapshot(daemon, statusText: text)
        edges.notifier.ready(status: thisRun.recoveryLine.map { "\($0); \(text)" } ?? text)
        // The first ping right after READY=1 confirms to systemd that the (re)start worked.
        _ = daemon.checkWatchdog(runner: heartbeat, nowNanos: edges.clock.monotonicNanos(), wallNanos: edges.clock.wallNanos())
        scheduleNext(daemon)
        return daemon
    }

    /// Start-up failed: say why where systemd and the operator look, and exit with its status.
    func startFailed(_ error: DaemonError) -> Int32 {
        var message = error.message
        // systemd restarts after any other failure; after these two it waits for the operator.
        if error.exitCode == .config || error.exitCode == .noPermission {
            message += isUnderSystemd ? ". Once fixed, start LightScope again: systemctl restart lightscope"
                : ". Once fixed, run lightscope again"
        }
        Log.error(message)
        edges.notifier.status(message)
        thisRun.end(.failed, detail: error.message, exitStatus: error.exitCode.rawValue)
        return error.exitCode.rawValue
    }

    /// Started by systemd as a service (which sets INVOCATION_ID), not from a terminal.
    /// Tests only, with fault injection on: `LIGHTSCOPE_TEST_EVENT_QUEUE=N` makes the event
    /// queue hold N events, so that a flood bounded in count passes the aggregation mark.
    var testEventQueueCapacity: Int? {
        guard environment[FaultInjection.environmentVariable] == "1" else { return nil }
        return environment[Self.testEventQueueVariable].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    static let testEventQueueVariable = "LIGHTSCOPE_TEST_EVENT_QUEUE"

    var isUnderSystemd: Bool { environment["INVOCATION_ID"] != nil }
}
