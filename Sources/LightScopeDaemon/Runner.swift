import LightScopeCapture
import LightScopeCore
import LightScopeStore
import LightScopeSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The runner (supervisor) loop of `lightscope run`: start-up, the systemd protocol,
/// signals, reload, interface rescans, the watchdog and shutdown all live here, apart
/// from the loops whose heartbeats it watches (`RunningDaemon`: packet loops, event
/// writer, metrics, fleet shipper). Start-up is in Runner+Startup, reload in Runner+Reload, the stop in
/// Runner+Shutdown, status in Runner+Status.
public final class Runner {
    let options: RunOptions
    let environment: [String: String]
    let edges: RunnerEdges
    let heartbeat = Heartbeat(loopName: "runner loop")
    var thisRun = RunRecorder()
    let startedAtNanos: UInt64
    var phase = Phase.running

    /// Where the runner loop is, once start-up has succeeded.
    enum Phase: Equatable {
        case running
        /// SIGTERM or SIGINT, or a problem a restart cannot fix: leave the loop and stop.
        case stopRequested
        /// A loop stalled and systemd was asked for a restart (WATCHDOG=trigger): wait to be
        /// killed until this monotonic time, then exit so that Restart= takes over.
        case restartRequested(untilNanos: UInt64)
    }

    /// A slow start-up step (opening the store, large capture rings) gets this much more time.
    static let startupExtension: Duration = .seconds(30)

    public convenience init(options: RunOptions, environment: [String: String]) {
        self.init(options: options, environment: environment, edges: .system)
    }

    init(options: RunOptions, environment: [String: String], edges: RunnerEdges) {
        self.options = options
        self.environment = environment
        self.edges = edges
        startedAtNanos = edges.clock.wallNanos()
    }

    var stateDirectory: String {
        StateDirectory.resolve(explicit: options.stateDirectory, environment: environment)
    }

    /// Runs until SIGTERM/SIGINT; returns the process exit status.
    public func run() -> Int32 {
        edges.signals.install()
        let daemon: RunningDaemon
        do {
            daemon = try start()
        } catch {
            return startFailed(error)
        }
        while true {
            switch phase {
            case .running:
                break
            case .stopRequested:
                return shutdown(daemon)
            case .restartRequested(let untilNanos):
                if edges.clock.monotonicNanos() >= untilNanos { return restartNotHonoured(daemon) }
            }
            waitForSignalOrTimeout(daemon.timing.loopWake)
            heartbeat.beat(now: edges.clock.monotonicNanos())
            for signalNumber in edges.signals.drain() { handle(signalNumber, daemon) }
            if phase == .running { tick(daemon) }
        }
    }

    func requestStop() {
        phase = .stopRequested
    }

    private func tick(_ daemon: RunningDaemon) {
        let now = edges.clock.monotonicNanos()
        let rescanDue = now >= daemon.nextRescanNanos
        if rescanDue || daemon.hostFacts.isListeningRefreshDue(nowNanos: now) {
            refreshHostFacts(daemon, listening: daemon.hostFacts.isListeningRefreshDue(nowNanos: now), nowNanos: now)
        }
        if rescanDue {
            do {
                try daemon.captures.reconcile(settings: daemon.settings.capture, wakeInterval: daemon.timing.loopWake)
            } catch {
                // Privileges cannot come back by themselves: say so and end, systemd shows it.
                Log.error(error.message)
                edges.notifier.status(error.message)
                requestStop()
                return
            }
            daemon.nextRescanNanos = now + UInt64(daemon.settings.capture.interfaceRescanInterval.nanoseconds)
        }
        for stall in daemon.checkWatchdog(runner: heartbeat, nowNanos: now, wallNanos: edges.clock.wallNanos()) {
            thisRun.note(stall)
        }
        if daemon.supervisor.restartNeeded {
            requestRestart(daemon)
            return
        }
        reportLosses(daemon, nowNanos: now)
        if now >= daemon.nextStatusNanos {
            let text = daemon.supervisor.stallStatus ?? daemon.status.refresh(captures: daemon.captures, nowNanos: now) + daemon.fleetStatusNote
            edges.notifier.status(text)
            Log.debug("Status: \(text)")
            publishSnapshot(daemon, statusText: text)
            daemon.nextStatusNanos = now + UInt64(daemon.settings.watchdog.statusInterval.nanoseconds)
        }
    }

    private func handle(_ signalNumber: Int32, _ daemon: RunningDaemon) {
        switch signalNumber {
        case SIGTERM, SIGINT:
            Log.info("Received \(signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"); stopping")
            requestStop()
        case SIGHUP where phase != .running:
            Log.notice("Ignoring SIGHUP: a restart has been requested")
        case SIGHUP:
            reload(daemon)
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

    /// Hands what changed about the host to every detection pipeline.
    func refreshHostFacts(_ daemon: RunningDaemon, listening: Bool, nowNanos: UInt64) {
        guard let update = daemon.hostFacts.refresh(addresses: edges.interfaces.addresses(), listening: listening,
                                                    listeningInterval: daemon.settings.detection.listeningRefreshInterval,
                                                    nowNanos: nowNanos)
        else { return }
        daemon.captures.post(update)
    }

    private func waitForSignalOrTimeout(_ wake: Duration) {
        var descriptor = pollfd(fd: edges.signals.readEnd, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(max(1, wake.milliseconds)))
    }

    func scheduleNext(_ daemon: RunningDaemon) {
        let now = edges.clock.monotonicNanos()
        daemon.nextRescanNanos = now + UInt64(daemon.settings.capture.interfaceRescanInterval.nanoseconds)
        daemon.nextStatusNanos = now + UInt64(daemon.settings.watchdog.statusInterval.nanoseconds)
    }

    func describe(_ timing: WatchdogTiming) -> String {
        guard let timeout = timing.systemdTimeout else {
            return "systemd watchdog off, stall limit \(DurationText.format(timing.stallLimit))"
        }
        return "watchdog \(DurationText.format(timeout)), ping every \(DurationText.format(timing.pingInterval)) while all loops make progress, stall limit \(DurationText.format(timing.stallLimit))"
    }
}
