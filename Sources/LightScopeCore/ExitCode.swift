/// Exit statuses with a meaning for systemd's RestartPreventExitStatus=.
public enum ExitCode: Int32, Sendable {
    case success = 0
    case failure = 1
    /// sysexits EX_NOPERM: missing capture privileges; restarting will not help.
    case noPermission = 77
    /// sysexits EX_CONFIG: bad config or unknown interface; restarting will not help.
    case config = 78
}

/// An error that reaches a person: what is wrong and how to fix it, in one line.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var exitCode: ExitCode

    public init(_ message: String, exitCode: ExitCode) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }
}
