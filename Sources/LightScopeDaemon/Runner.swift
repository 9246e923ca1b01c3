import LightScopeCapture
import LightScopeCore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The runner (supervisor) loop of `lightscope run`: start-up, the systemd protocol,
/// signals, reload, interface rescans, the watchdog and shutdown all live here, apart
/// from the packet loops whose heartbeats it watches.
public final class Runner {
    private let options: RunOptions
    private let notifier = SystemdNotifier()
    private let heartbeat = Heartbeat(loopName: "runner loop")
    private var settings = Settings()
    private var captures: CaptureSet!
    /// The detection pipeline of each open capture, to hand it host facts.
    private var consumers: [String: DetectionConsumer] = [:]
    private var hostFacts = DetectionConsumer.HostFacts()
    private var nextListeningRefreshNanos: UInt64 = 0
    private let sink: EventSink
    private var supervisor: WatchdogSupervisor!
    private var status = StatusReporter()
    private var nextRescanNanos: UInt64 = 0
    private var nextStatusNanos: UInt64 = 0
    private var stopRequested = false

    /// A slow start-up step (opening large capture rings) gets this much more time.
    static let startupExtension: Duration = .seconds(30)

    public init(options: RunOptions) {
        self.options = options
        self.sink = LoggingEventSink()
        self.captures = CaptureSet(makeConsumer: { [unowned self] name, counters in
            let consumer = DetectionConsumer(interface: name, settings: settings.detection, facts: hostFacts,
                                             counters: counters, sink: sink)
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
            captures.closeAll()
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
        settings = try loadSettings()
        Log.level = settings.log.level
        let timing = try makeTiming(settings)
        try requireNamedInterfacesExist(settings.capture.interfaces)
        notifier.extendTimeout(by: Self.startupExtension)
        refreshHostFacts(listening: true)
        try captures.reconcile(settings: settings.capture, wakeInterval: timing.loopWake)
        supervisor = WatchdogSupervisor(timing: timing, notifier: notifier)
        let text = status.refresh(captures: captures)
        Log.info("LightScope started: \(describe(timing)); \(text)")
        if options.faultInjectionEnabled {
            Log.warning("Fault injection is on (\(FaultInjection.environmentVariable)=1): SIGUSR1 hangs the packet loops, SIGUSR2 the runner loop")
        }
        notifier.ready(status: text)
        scheduleNext()
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
        supervisor.check(heartbeats: [heartbeat] + captures.heartbeats, nowNanos: now)
        if now >= nextStatusNanos {
            let text = supervisor.stallStatus ?? status.refresh(captures: captures, nowNanos: now)
            notifier.status(text)
            Log.debug("Status: \(text)")
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
            let captureChanged = newSettings.capture != settings.capture || newSettings.detection != settings.detection
                || timing.loopWake != supervisor.timing.loopWake
            settings = newSettings
            Log.level = settings.log.level
            if timing != supervisor.timing {
                supervisor = WatchdogSupervisor(timing: timing, notifier: notifier)
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
        let hung = captures.closeAll()
        let totals = StatusText.sum(captures.counterSnapshots)
        if !hung.isEmpty {
            Log.error("Stopped with hung packet loops: \(hung.joined(separator: ", "))")
            return ExitCode.failure.rawValue
        }
        Log.info("Stopped cleanly: \(totals.packets) packets seen, \(totals.unwanted) unwanted, \(totals.drops) dropped")
        return ExitCode.success.rawValue
    }

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

