/// The watchdog's intervals, derived once from systemd's WATCHDOG_USEC and the config.
public struct WatchdogTiming: Equatable, Sendable {
    /// systemd's WatchdogSec, or nil when systemd is not watching this process.
    public var systemdTimeout: Duration?
    public var pingInterval: Duration
    public var stallLimit: Duration

    /// When systemd's watchdog is off, loops are still checked and stalls still logged.
    public static let fallbackStallLimit: Duration = .seconds(30)
    /// Loops wake at least this often even when the ping interval is long, so shutdown,
    /// rescans and status stay responsive.
    public static let maximumLoopWake: Duration = .seconds(1)

    public init(systemdTimeout: Duration?, settings: Settings.Watchdog) throws(ConfigError) {
        self.systemdTimeout = systemdTimeout
        if let timeout = systemdTimeout {
            let ping = settings.pingInterval ?? timeout / 2
            guard ping < timeout else {
                throw ConfigError(source: "[watchdog] ping_interval", line: nil,
                                  problem: "\(DurationText.format(ping)) must be shorter than systemd's WatchdogSec (\(DurationText.format(timeout))); remove it to use half of WatchdogSec")
            }
            pingInterval = ping
            stallLimit = settings.stallLimit ?? timeout
        } else {
            pingInterval = settings.pingInterval ?? .seconds(15)
            stallLimit = settings.stallLimit ?? Self.fallbackStallLimit
        }
        if stallLimit <= pingInterval / 2 {
            throw ConfigError(source: "[watchdog] stall_limit", line: nil,
                              problem: "\(DurationText.format(stallLimit)) must be longer than half the ping interval (\(DurationText.format(pingInterval)))")
        }
    }

    /// The longest a loop may block in poll(): a quarter of the ping interval, at most a second,
    /// so every loop beats several times between two pings.
    public var loopWake: Duration {
        min(pingInterval / 4, Self.maximumLoopWake)
    }
}
