import CSystemd
import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon's sd_notify messages go: systemd's socket (`SystemdNotifier`), or a
/// recording stand-in in the in-process tests of the runner.
public protocol NotifySocket: Sendable {
    /// systemd's watchdog timeout for this process, if it watches us.
    var watchdogTimeout: Duration? { get }
    /// Sends one datagram of `KEY=VALUE` lines. Returns false if systemd could not be told.
    @discardableResult
    func send(_ assignments: [String]) -> Bool
}

extension NotifySocket {
    @discardableResult public func ready(status: String) -> Bool { send(["READY=1", "STATUS=\(status)"]) }
    @discardableResult public func reloading() -> Bool { send(["RELOADING=1", "STATUS=Reloading configuration"]) }
    @discardableResult public func stopping(status: String) -> Bool { send(["STOPPING=1", "STATUS=\(status)"]) }
    @discardableResult public func status(_ text: String) -> Bool { send(["STATUS=\(text)"]) }
    @discardableResult public func watchdogPing() -> Bool { send(["WATCHDOG=1"]) }
    /// Asks systemd to act as if the watchdog timed out, now (systemd 243+).
    @discardableResult public func watchdogTrigger(status: String) -> Bool { send(["WATCHDOG=trigger", "STATUS=\(status)"]) }
    /// Gives a slow start-up step more time before TimeoutStartSec fires.
    @discardableResult public func extendTimeout(by duration: Duration) -> Bool {
        send(["EXTEND_TIMEOUT_USEC=\(duration.nanoseconds / 1000)"])
    }
}

/// The sd_notify protocol, sent through libsystemd (path and `@abstract` sockets both work).
///
/// Everything is a no-op when NOTIFY_SOCKET is unset, so `lightscope run` in a terminal just
/// works. The environment is never unset (unset_environment = 0): the daemon keeps pinging
/// for its whole life, and unsetting after READY=1 would silence every later WATCHDOG=1.
public struct SystemdNotifier: NotifySocket {
    public let isEnabled: Bool

    public init() {
        isEnabled = getenv("NOTIFY_SOCKET") != nil
    }

    /// systemd's watchdog timeout for this process, if it watches us (honours WATCHDOG_PID).
    public static func watchdogTimeout() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }

    public var watchdogTimeout: Duration? { Self.watchdogTimeout() }

    @discardableResult
    public func send(_ assignments: [String]) -> Bool {
        guard isEnabled else { return true }
        let message = assignments.map(Self.singleLine).joined(separator: "\n")
        return sd_notify(0, message) >= 0
    }

    /// A newline in a value would start a new assignment, and the text may quote a config
    /// value: control characters are escaped (`SafeText`), so STATUS= stays one line.
    static func singleLine(_ assignment: String) -> String {
        SafeText.escaped(assignment)
    }
}
