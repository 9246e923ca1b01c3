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
    private var hostFacts = DetectionConsumer.HostFacts()
    private var supervisor: WatchdogSupervisor!
    private var status = StatusReporter()
    private var pipeline: EventPipeline?
    private var tally: EventTally?
    private var metrics: MetricsServer?
    private var statusFile: StatusFile?
    private var history = RunHistory()
    private var historyFile: RunHistoryFile?
    /// `Recovered after watchdog timeout (...)` when the previous run did not stop cleanly.
    private var recoveryLine: String?
    private let startedAtNanos = WallClock.nowNanos()
    private var nextRescanNanos: UInt64 = 0
    private var nextStatusNanos: UInt64 = 0
    private var nextListeningRefreshNanos: UInt64 = 0
    private var stopRequested = false

    /// A slow start-up step (opening the store, large capture rings) gets this much more time.
    static let startupExtension: Duration = .seconds(30)
    /// How long the event writer may take to commit what is queued at stop.
    static let pipelineStopTimeout: Duration = .seconds(20)

    public init(options: RunOptions, environment: [String: String]) {
        self.options = options
        self.environment = environment
        self.captures = CaptureSet(makeConsumer: { [unowned self] name, counters in
            let consumer = DetectionConsumer(interface: name, settings: settings.detection, facts: hostFacts,
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
            endHistory(.failed, detail: error.message)
            captures.closeAll()
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
        try beginHistory()
        settings = try loadSettings()
        Log.level = settings.log.level
        let timing = try makeTiming(settings)
        try requireNamedInterfacesExist(settings.capture.interfaces)
        notifier.extendTimeout(by: Self.startupExtension)
        try startEventPipeline(wakeInterval: timing.loopWake)
        supervisor = WatchdogSupervisor(timing: timing, notifier: notifier)
        try startMetrics(settings.metrics.listen, wakeInterval: timing.loopWake)
        refreshHostFacts(listening: true)
        try captures.reconcile(settings: settings.capture, wakeInterval: timing.loopWake)
        let text = status.refresh(captures: captures)
        Log.info("LightScope \(LightScopeVersion.current) started: \(describe(timing)); state in \(stateDirectory); \(text)")
        if options.faultInjectionEnabled {
            Log.warning("Fault injection is on (\(FaultInjection.environmentVariable)=1): SIGUSR1 hangs the packet loops, SIGUSR2 the runner loop")
        }
        if let recoveryLine { Log.warning(recoveryLine) }
        notifier.ready(status: recoveryLine.map { "\($0); \(text)" } ?? text)
        // The first ping right after READY=1 confirms to systemd that the (re)start worked.
        supervisor.check(heartbeats: heartbeats)
        publishSnapshot(statusText: text)
        scheduleNext()
    }

    /// Opens this run's entry in the run history, learning how the previous run ended.
    private func beginHistory() throws(DaemonError) {
        try ensureDirectory(stateDirectory)
        let file = RunHistoryFile(stateDirectory: stateDirectory)
        history = file.load()
        history.begin(pid: getpid(), atNanos: startedAtNanos)
        recoveryLine = history.recoveryLine(atNanos: startedAtNanos)
        historyFile = file
        saveHistory()
    }

    private func endHistory(_ ending: RunHistory.Ending, detail: String? = nil) {
        history.endCurrent(ending, atNanos: WallClock.nowNanos(), detail: detail)
        saveHistory()
    }

    private func saveHistory() {
        if let problem = historyFile?.save(history) {
            Log.warning("Run history not saved (\(problem)); restarts will not be explained")
        }
    }

    private var stateDirectory: String {
        StateDirectory.resolve(explicit: options.stateDirectory, environment: environment)
    }

    private func startEventPipeline(wakeInterval: Duration) throws(DaemonError) {
        let directory = stateDirectory
        try ensureDirectory(directory)
        let anonymiser = try loadAnonymiser(settings.store, directory: directory)
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
        [heartbeat] + captures.heartbeats + [pipeline?.heartbeat, metrics?.heartbeat].compactMap { $0 }
    }

    private func tick() {
        let now = MonotonicClock.nowNanos()
        if now >= nextRescanNanos || now >= nextListeningRefreshNanos {
            refreshHostFacts(listening: now >= nextListeningRefreshNanos)
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
        for stall in supervisor.takeNewStalls() {
            history.noteCurrent(detail: stall)
            saveHistory()
        }
        if now >= nextStatusNanos {
            let text = supervisor.stallStatus ?? status.refresh(captures: captures, nowNanos: now)
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
            let newSettings = try loadSettings()
            let timing = try makeTiming(newSettings)
            try requireNamedInterfacesExist(newSettings.capture.interfaces)
            let anonymiser = try loadAnonymiser(newSettings.store, directory: stateDirectory)
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
        _ = metrics?.stop(timeout: CaptureSet.stopTimeout)
        statusFile?.remove()
        let totals = StatusText.sum(captures.counterSnapshots)
        if !hung.isEmpty || !committed {
            let what = (hung.map { "packet loop \($0)" } + (committed ? [] : ["event writer"])).joined(separator: ", ")
            Log.error("Stopped with hung loops: \(what)")
            endHistory(.failed, detail: "hung at stop: \(what)")
            return ExitCode.failure.rawValue
        }
        let stored = pipeline?.counters.snapshot
        endHistory(.clean)
        Log.info("Stopped cleanly: \(totals.packets) packets seen, \(totals.unwanted) unwanted, \(totals.drops) dropped; \(stored?.eventsWritten ?? 0) events stored, \(stored?.eventsLost ?? 0) lost")
        return ExitCode.success.rawValue
    }

    // MARK: - Host facts and status

    /// Re-reads the host's addresses (every rescan) and listening ports (every
    /// `listeningRefreshInterval`) and hands what changed to every detection pipeline.
    private func refreshHostFacts(listening refreshListening: Bool) {
        var update = DetectionConsumer.HostFacts()
        let addresses = HostFactsReader.addresses()
        if addresses != hostFacts.addresses {
            hostFacts.addresses = addresses
            update.addresses = addresses
        }
        if refreshListening {
            let listening = HostFactsReader.listeningPorts()
            if listening != hostFacts.listening {
                hostFacts.listening = listening
                update.listening = listening
            }
            nextListeningRefreshNanos = MonotonicClock.nowNanos() + UInt64(settings.detection.listeningRefreshInterval.nanoseconds)
        }
        guard update.addresses != nil || update.listening != nil else { return }
        consumers = consumers.filter { captures.capturing.contains($0.key) }
        for consumer in consumers.values { consumer.post(update) }
    }

    private func publishSnapshot(statusText: String) {
        let snapshot = SnapshotBuilder.build(
            startedAtNanos: startedAtNanos, statusText: statusText, captures: captures, packetsPerSecond: status.packetsPerSecond,
            consumers: consumers, heartbeats: heartbeats, supervisor: supervisor, tally: tally, pipeline: pipeline,
            restarts: DaemonSnapshot.Restarts(history: history))
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

    private func loadSettings() throws(DaemonError) -> Settings {
        do {
            return try ConfigLoader.load(options)
        } catch {
            throw DaemonError(error.description, exitCode: .config)
        }
    }

    private func loadAnonymiser(_ store: Settings.Store, directory: String) throws(DaemonError) -> AddressAnonymiser {
        do {
            return try AddressAnonymiser.load(mode: store.anonymise, stateDirectory: directory)
        } catch {
            throw DaemonError(error.message, exitCode: .config)
        }
    }

    private func ensureDirectory(_ path: String) throws(DaemonError) {
        var status = stat()
        if stat(path, &status) == 0 { return }
        guard mkdir(path, 0o750) == 0 || errno == EEXIST else {
            throw DaemonError("Cannot create the state directory \(path) (\(String(cString: strerror(errno)))): create it, or choose another with --state-dir",
                              exitCode: .config)
        }
    }

    private func makeTiming(_ settings: Settings) throws(DaemonError) -> WatchdogTiming {
        do {
            return try WatchdogTiming(systemdTimeout: SystemdNotifier.watchdogTimeout(), settings: settings.watchdog)
        } catch {
            throw DaemonError(error.description, exitCode: .config)
        }
    }

    private func requireNamedInterfacesExist(_ names: [String]) throws(DaemonError) {
        let missing = names.filter { NetworkInterfaces.index(of: $0) == 0 }
        guard missing.isEmpty else {
            let known = NetworkInterfaces.current().map(\.name).joined(separator: ", ")
            throw DaemonError("No such network interface: \(missing.joined(separator: ", ")) (this host has: \(known)); fix --interface or [capture] interfaces in the config",
                              exitCode: .config)
        }
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
