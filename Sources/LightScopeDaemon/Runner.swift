import LightScopeCapture
import LightScopeCore
import LightScopeStore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The runner (supervisor) loop of `lightscope run`: start-up, the systemd protocol,
/// signals, reload, interface rescans, the watchdog and shutdown all live here, apart
/// from the loops whose heartbeats it watches (packet loops, event writer, metrics).
public final class Runner {
    private let options: RunOptions
    private let notifier = SystemdNotifier()
    private let heartbeat = Heartbeat(loopName: "runner loop")
    private let environment: [String: String]
    private var settings = Settings()
    private var captures: CaptureSet!
    /// The detection pipeline of each open capture, to hand it host facts.
    private var consumers: [String: DetectionConsumer] = [:]
    private var hostFacts = HostFactsFeed()
    private var supervisor: WatchdogSupervisor!
    private var status = StatusReporter()
    private var pipeline: EventPipeline?
    private var tally: EventTally?
    private var metrics: MetricsServer?
    private var fleet = FleetLink()
    private var statusFile: StatusFile?
    private var thisRun = RunRecorder()
    private let startedAtNanos = WallClock.nowNanos()
    private var nextRescanNanos: UInt64 = 0
    private var nextStatusNanos: UInt64 = 0
    private var stopRequested = false

    /// A slow start-up step (opening the store, large capture rings) gets this much more time.
    static let startupExtension: Duration = .seconds(30)
    /// How long the event writer may take to commit what is queued at stop.
    static let pipelineStopTimeout: Duration = .seconds(20)

    public init(options: RunOptions, environment: [String: String]) {
        self.options = options
        self.environment = environment
        self.captures = CaptureSet(makeConsumer: { [unowned self] name, counters in
            let consumer = DetectionConsumer(interface: name, settings: settings.detection, facts: hostFacts.current,
                                             counters: counters, sink: tally!)
            consumers[name] = consumer
            return consumer
        })
    }

    /// Runs until SIGTERM/SIGINT; returns the process exit status.
    public func run() -> Int32 {
        SignalPipe.install()
        do {
            try start()
        } catch {
            Log.error(error.message)
            notifier.status(error.message)
            thisRun.end(.failed, detail: error.message)
            captures.closeAll()
            _ = fleet.stop()
            _ = pipeline?.stop(timeout: Self.pipelineStopTimeout)
            return error.exitCode.rawValue
        }
        while !stopRequested {
            waitForSignalOrTimeout()
            heartbeat.beat()
            for signalNumber in SignalPipe.drain() { handle(signalNumber) }
            if stopRequested { break }
            tick()
        }
        return shutdown()
    }

    private func start() throws(DaemonError) {
        try StartupChecks.ensureDirectory(stateDirectory)
        thisRun.begin(stateDirectory: stateDirectory, pid: getpid(), atNanos: startedAtNanos)
        settings = try StartupChecks.loadSettings(options)
        Log.level = settings.log.level
        let timing = try StartupChecks.watchdogTiming(settings)
        try StartupChecks.requireNamedInterfacesExist(settings.capture.interfaces)
        notifier.extendTimeout(by: Self.startupExtension)
        try startEventPipeline(wakeInterval: timing.loopWake)
        try fleet.start(settings: settings, stateDirectory: stateDirectory, environment: environment,
                        anonymiser: try StartupChecks.anonymiser(settings.store, directory: stateDirectory), pipeline: pipeline,
                        wakeInterval: timing.loopWake, faultInjectionEnabled: options.faultInjectionEnabled)
        supervisor = WatchdogSupervisor(timing: timing, notifier: notifier)
        try startMetrics(settings.metrics.listen, wakeInterval: timing.loopWake)
        refreshHostFacts(listening: true)
        try captures.reconcile(settings: settings.capture, wakeInterval: timing.loopWake)
        let text = status.refresh(captures: captures)
        Log.info("LightScope \(LightScopeVersion.current) started: \(describe(timing)); state in \(stateDirectory); \(text)")
        if options.faultInjectionEnabled {
            Log.warning("Fault injection is on (\(FaultInjection.environmentVariable)=1): SIGUSR1 hangs the packet loops, SIGUSR2 the runner loop")
        }
        if let recoveryLine = thisRun.recoveryLine { Log.warning(recoveryLine) }
        notifier.ready(status: thisRun.recoveryLine.map { "\($0); \(text)" } ?? text)
        // The first ping right after READY=1 confirms to systemd that the (re)start worked.
        supervisor.check(heartbeats: heartbeats)
        publishSnapshot(statusText: text)
        scheduleNext()
    }

    private var stateDirectory: String {
        StateDirectory.resolve(explicit: options.stateDirectory, environment: environment)
    }

    private func startEventPipeline(wakeInterval: Duration) throws(DaemonError) {
        let directory = stateDirectory
        let anonymiser = try StartupChecks.anonymiser(settings.store, directory: directory)
        let pipeline = EventPipeline(stateDirectory: directory, settings: settings.store, anonymiser: anonymiser,
                                     wakeInterval: wakeInterval)
        pipeline.start()
        self.pipeline = pipeline
        tally = EventTally(downstream: pipeline)
        statusFile = StatusFile(directory: RuntimeDirectory.resolve(stateDirectory: directory, environment: environment))
    }

    private func startMetrics(_ endpoint: MetricsEndpoint?, wakeInterval: Duration) throws(DaemonError) {
        if let running = metrics {
            guard running.endpoint != endpoint else { return }
            _ = running.stop(timeout: CaptureSet.stopTimeout)
            metrics = nil
        }
        guard let endpoint else { return }
        let server = try MetricsServer(endpoint: endpoint, wakeInterval: wakeInterval)
        server.start()
        metrics = server
        Log.info("Serving Prometheus metrics on http://\(endpoint)/metrics")
    }

    private var heartbeats: [Heartbeat] {
        [heartbeat] + captures.heartbeats + [pipeline?.heartbeat, metrics?.heartbeat, fleet.shipper?.heartbeat].compactMap { $0 }
    }

    private func tick() {
        let now = MonotonicClock.nowNanos()
        if now >= nextRescanNanos || hostFacts.isListeningRefreshDue(nowNanos: now) {
            refreshHostFacts(listening: hostFacts.isListeningRefreshDue(nowNanos: now))
        }
        if now >= nextRescanNanos {
            do {
                try captures.reconcile(settings: settings.capture, wakeInterval: supervisor.timing.loopWake)
            } catch {
                // Privileges cannot come back by themselves: say so and end, systemd shows it.
                Log.error(error.message)
                notifier.status(error.message)
                stopRequested = true
                return
            }
            nextRescanNanos = now + UInt64(settings.capture.interfaceRescanInterval.nanoseconds)
        }
        supervisor.check(heartbeats: heartbeats, nowNanos: now)
        for stall in supervisor.takeNewStalls() { thisRun.note(stall) }
        if now >= nextStatusNanos {
            let text = supervisor.stallStatus ?? status.refresh(captures: captures, nowNanos: now) + fleet.statusNote
            notifier.status(text)
            Log.debug("Status: \(text)")
            publishSnapshot(statusText: text)
            nextStatusNanos = now + UInt64(settings.watchdog.statusInterval.nanoseconds)
        }
    }

    private func handle(_ signalNumber: Int32) {
        switch signalNumber {
        case SIGTERM, SIGINT:
            Log.info("Received \(signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"); stopping")
            stopRequested = true
        case SIGHUP:
            reload()
        case SIGUSR1 where options.faultInjectionEnabled:
            Log.warning("Fault injection: SIGUSR1 received, the packet loops hang now")
            FaultInjection.requestPacketLoopHang()
        case SIGUSR2 where options.faultInjectionEnabled:
            Log.warning("Fault injection: SIGUSR2 received, the runner loop hangs now")
            while true { sleep(3600) }
        case SIGUSR1, SIGUSR2:
            Log.notice("Ignoring signal \(signalNumber): fault injection is off (it needs \(FaultInjection.environmentVariable)=1 at start)")
        default:
            break
        }
    }

    /// SIGHUP: re-read the config. A bad new config is rejected and the old one stays in force.
    private func reload() {
        notifier.reloading()
        Log.info("Reloading configuration (SIGHUP)")
        do {
            let newSettings = try StartupChecks.loadSettings(options)
            let timing = try StartupChecks.watchdogTiming(newSettings)
            try StartupChecks.requireNamedInterfacesExist(newSettings.capture.interfaces)
            let anonymiser = try StartupChecks.anonymiser(newSettings.store, directory: stateDirectory)
            try fleet.start(settings: newSettings, stateDirectory: stateDirectory, environment: environment, anonymiser: anonymiser,
                            pipeline: pipeline, wakeInterval: timing.loopWake, faultInjectionEnabled: options.faultInjectionEnabled)
            let captureChanged = newSettings.capture != settings.capture || newSettings.detection != settings.detection
                || timing.loopWake != supervisor.timing.loopWake
            try startMetrics(newSettings.metrics.listen, wakeInterval: timing.loopWake)
            settings = newSettings
            Log.level = settings.log.level
            pipeline?.reconfigure(settings: settings.store, anonymiser: anonymiser)
            pipeline?.setWakeInterval(timing.loopWake)
            if timing != supervisor.timing {
                let previous = supervisor!
                supervisor = WatchdogSupervisor(timing: timing, notifier: notifier)
                supervisor.carryCounters(from: previous)
            }
            if captureChanged {
                captures.closeAll()
            }
            try captures.reconcile(settings: settings.capture, wakeInterval: timing.loopWake)
            Log.info("Configuration reloaded: \(describe(timing))")
        } catch {
            Log.error("Reload rejected, the previous configuration stays in force: \(error.message)")
        }
        notifier.ready(status: supervisor.stallStatus ?? status.refresh(captures: captures))
        scheduleNext()
    }

    private func shutdown() -> Int32 {
        notifier.stopping(status: "Stopping: closing captures and flushing pending data")
        Log.info("Stopping: closing captures and flushing pending data")
        // Captures first: their flush reports pending probes into the pipeline, which then commits.
        let hung = captures.closeAll()
        let committed = pipeline?.stop(timeout: Self.pipelineStopTimeout) ?? true
        _ = fleet.stop()
        _ = metrics?.stop(timeout: CaptureSet.stopTimeout)
        statusFile?.remove()
        let totals = StatusText.sum(captures.counterSnapshots)
        if !hung.isEmpty || !committed {
            let what = (hung.map { "packet loop \($0)" } + (committed ? [] : ["event writer"])).joined(separator: ", ")
            Log.error("Stopped with hung loops: \(what)")
            thisRun.end(.failed, detail: "hung at stop: \(what)")
            return ExitCode.failure.rawValue
        }
        let stored = pipeline?.counters.snapshot
        thisRun.end(.clean)
        Log.info("Stopped cleanly: \(totals.packets) packets seen, \(totals.unwanted) unwanted, \(totals.drops) dropped; \(stored?.eventsWritten ?? 0) events stored, \(stored?.eventsLost ?? 0) lost")
        return ExitCode.success.rawValue
    }

    // MARK: - Host facts and status

    /// Hands what changed about the host to every detection pipeline.
    private func refreshHostFacts(listening: Bool) {
        guard let update = hostFacts.refresh(listening: listening, listeningInterval: settings.detection.listeningRefreshInterval)
        else { return }
        consumers = consumers.filter { captures.capturing.contains($0.key) }
        for consumer in consumers.values { consumer.post(update) }
    }

    private func publishSnapshot(statusText: String) {
        var snapshot = SnapshotBuilder.build(
            startedAtNanos: startedAtNanos, statusText: statusText, captures: captures, packetsPerSecond: status.packetsPerSecond,
            consumers: consumers, heartbeats: heartbeats, supervisor: supervisor, tally: tally, pipeline: pipeline,
            restarts: thisRun.restarts)
        fleet.publish(&snapshot)
        statusFile?.write(snapshot)
        metrics?.publish(snapshot)
    }

    // MARK: - Helpers

    private func waitForSignalOrTimeout() {
        let wake = supervisor?.timing.loopWake ?? WatchdogTiming.maximumLoopWake
        var descriptor = pollfd(fd: SignalPipe.readEnd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(max(1, wake.milliseconds)))
    }

    private func scheduleNext() {
        let now = MonotonicClock.nowNanos()
        nextRescanNanos = now + UInt64(settings.capture.interfaceRescanInterval.nanoseconds)
        nextStatusNanos = now + UInt64(settings.watchdog.statusInterval.nanoseconds)
    }

    private func describe(_ timing: WatchdogTiming) -> String {
        guard let timeout = timing.systemdTimeout else {
            return "systemd watchdog off, stall limit \(DurationText.format(timing.stallLimit))"
        }
        return "watchdog \(DurationText.format(timeout)), ping every \(DurationText.format(timing.pingInterval)) while all loops make progress, stall limit \(DurationText.format(timing.stallLimit))"
    }
}

extension DaemonError {
    var message: String { description }
}
