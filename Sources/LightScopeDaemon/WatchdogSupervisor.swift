import LightScopeCore
import LightScopeSystemd

/// Carries out `WatchdogPolicy`'s decisions: pings systemd, logs stalls, and says when a
/// restart is needed (the runner reports what it can, then sends WATCHDOG=trigger).
/// Runs in the runner loop, so a hung runner silences the pings by construction.
struct WatchdogSupervisor {
    let timing: WatchdogTiming
    private var policy: WatchdogPolicy
    private let notifier: any NotifySocket
    private(set) var lastPingWallNanos: UInt64?
    private(set) var pingsSent: UInt64 = 0
    private(set) var stallsDetected: UInt64 = 0
    private(set) var stallStatus: String?
    /// A loop stalled while systemd watches: the process must be restarted.
    private(set) var restartNeeded = false
    /// Stalls found since the last `takeNewStalls()`, described for the run history.
    private var newStalls: [String] = []

    init(timing: WatchdogTiming, notifier: any NotifySocket, nowNanos: UInt64) {
        self.timing = timing
        self.notifier = notifier
        self.policy = WatchdogPolicy(pingIntervalNanos: UInt64(timing.pingInterval.nanoseconds),
                                     stallLimitNanos: UInt64(timing.stallLimit.nanoseconds),
                                     startNanos: nowNanos)
    }

    var isSystemdWatching: Bool { timing.systemdTimeout != nil }
    var stalledLoops: Set<String> { policy.stalledLoops }

    mutating func takeNewStalls() -> [String] {
        defer { newStalls.removeAll() }
        return newStalls
    }

    /// Keeps the counters when the timing changes on reload.
    mutating func carryCounters(from previous: WatchdogSupervisor) {
        pingsSent = previous.pingsSent
        stallsDetected = previous.stallsDetected
        lastPingWallNanos = previous.lastPingWallNanos
    }

    mutating func check(heartbeats: [Heartbeat], nowNanos: UInt64, wallNanos: UInt64) {
        for action in policy.evaluate(nowNanos: nowNanos, pulses: heartbeats.map(\.pulse)) {
            switch action {
            case .ping:
                guard isSystemdWatching else { continue }
                if notifier.watchdogPing() {
                    pingsSent += 1
                    lastPingWallNanos = wallNanos
                    Log.debug("Sent watchdog notification to systemd")
                } else {
                    Log.warning("Could not send the watchdog notification to systemd (NOTIFY_SOCKET unreachable)")
                }
            case .withhold(let notBeaten):
                Log.warning("Watchdog notification withheld: \(notBeaten.joined(separator: ", ")) made no progress since the last one")
            case .stalled(let loopName, let silentNanos):
                let status = StatusText.stalled(loopName: loopName, silentForNanos: silentNanos)
                stallStatus = status
                stallsDetected += 1
                newStalls.append("\(loopName) stalled for \(StatusText.formatSeconds(silentNanos))")
                let limit = DurationText.format(timing.stallLimit)
                if isSystemdWatching {
                    Log.error("Watchdog: \(loopName) has made no progress for \(StatusText.formatSeconds(silentNanos)) (stall limit \(limit)); no more watchdog notifications, requesting an immediate restart with WATCHDOG=trigger")
                    restartNeeded = true
                } else {
                    Log.error("Watchdog: \(loopName) has made no progress for \(StatusText.formatSeconds(silentNanos)) (stall limit \(limit)); not supervised by systemd, so nothing restarts it: restart lightscope")
                    notifier.status(status)
                }
            case .recovered(let loopName):
                Log.notice("Watchdog: \(loopName) is making progress again")
                stallStatus = nil
            }
        }
    }
}
