/// The daemon's last runs and how each ended, kept in the state directory, so every restart
/// is explained: the daemon marks an orderly stop itself, and systemd's ExecStopPost= step
/// (`lightscope record-exit`) records why a run ended otherwise ($SERVICE_RESULT,
/// $EXIT_CODE, $EXIT_STATUS). Pure: the file I/O lives in the daemon.
public struct RunHistory: Codable, Equatable, Sendable {
    public static let fileName = "runs.json"
    /// Runs kept; older ones are dropped.
    public static let capacity = 50

    public var runs: [Run] = []

    public init(runs: [Run] = []) {
        self.runs = runs
    }

    public struct Run: Codable, Equatable, Sendable {
        public var pid: Int32
        public var startedAtNanos: UInt64
        public var endedAtNanos: UInt64?
        /// nil while the run is in progress (or when it ended without anyone noticing:
        /// power loss, SIGKILL outside systemd).
        public var ending: Ending?
        /// What the daemon knew just before it asked for a restart (e.g. the stalled loop).
        public var detail: String?
        /// The process's exit status when it exited (rather than being killed by a signal).
        public var exitStatus: Int32?

        public init(pid: Int32, startedAtNanos: UInt64, endedAtNanos: UInt64? = nil, ending: Ending? = nil, detail: String? = nil,
                    exitStatus: Int32? = nil) {
            self.pid = pid
            self.startedAtNanos = startedAtNanos
            self.endedAtNanos = endedAtNanos
            self.ending = ending
            self.detail = detail
            self.exitStatus = exitStatus
        }

        /// Whether systemd restarts the service after a run that ended this way: not after a
        /// clean stop, nor after the statuses of the unit's RestartPreventExitStatus= (a config
        /// error, missing privileges), after which the next run is the operator's start.
        public var isFollowedByRestart: Bool {
            switch ending {
            case nil, .clean?: false
            case .failed?: !(exitStatus.map(RunHistory.statusesNotRestarted.contains) ?? false)
            default: true
            }
        }
    }

    /// The unit's RestartPreventExitStatus=: 77 (no capture privileges) and 78 (bad config).
    public static let statusesNotRestarted: Set<Int32> = [77, 78]

    /// How a run ended, as an operator would say it.
    public enum Ending: String, Codable, Sendable, CaseIterable {
        /// SIGTERM/SIGINT and an orderly stop.
        case clean
        /// systemd's watchdog fired (missed pings or WATCHDOG=trigger).
        case watchdog
        /// Killed by a crash signal (SEGV, ABRT outside the watchdog, BUS, ILL, FPE) or a core dump.
        case crash
        /// Killed by another signal (KILL, or TERM without an orderly stop).
        case killed
        /// Exited with a non-zero status (config error, missing privileges, runtime failure).
        case failed
        /// The previous run has no ending: the host lost power, or the process vanished unseen.
        case unknown

        public var phrase: String {
            switch self {
            case .clean: "clean stop"
            case .watchdog: "watchdog timeout"
            case .crash: "crash"
            case .killed: "killed"
            case .failed: "failure exit"
            case .unknown: "unexplained stop"
            }
        }
    }

    /// Maps systemd's ExecStopPost= variables onto an ending, with the detail systemd gave.
    public static func ending(serviceResult: String?, exitCode: String?, exitStatus: String?) -> (Ending, String) {
        let status = exitStatus ?? "?"
        switch (serviceResult ?? "", exitCode ?? "") {
        case ("watchdog", _):
            return (.watchdog, "systemd watchdog, \(exitCode ?? "killed") with SIG\(status)")
        case ("success", _):
            return (.clean, "exited with status 0")
        case ("core-dump", _), (_, "dumped"):
            return (.crash, "crashed with SIG\(status)")
        case (_, "killed") where ["SEGV", "ABRT", "BUS", "ILL", "FPE", "SYS", "TRAP"].contains(status):
            return (.crash, "crashed with SIG\(status)")
        case (_, "killed"):
            return (.killed, "killed with SIG\(status)")
        case (_, "exited"):
            return (.failed, "exited with status \(status) (\(serviceResult ?? "exit-code"))")
        default:
            return (.unknown, "service result \(serviceResult ?? "unset"), exit \(exitCode ?? "unset") \(status)")
        }
    }

    // MARK: - Transitions

    /// A new run begins. The previous run, if it never got an ending, ended unexplained.
    public mutating func begin(pid: Int32, atNanos now: UInt64) {
        if let last = runs.indices.last, runs[last].ending == nil {
            runs[last].ending = .unknown
        }
        runs.append(Run(pid: pid, startedAtNanos: now))
        if runs.count > Self.capacity { runs.removeFirst(runs.count - Self.capacity) }
    }

    /// The current run stops in order.
    public mutating func endCurrent(_ ending: Ending, atNanos now: UInt64, detail: String? = nil, exitStatus: Int32? = nil) {
        guard let last = runs.indices.last else { return }
        runs[last].ending = ending
        runs[last].endedAtNanos = now
        if let detail { runs[last].detail = detail }
        if let exitStatus { runs[last].exitStatus = exitStatus }
    }

    /// ExecStopPost: records systemd's view of how the last run ended, unless the daemon
    /// already marked it clean itself. A detail the daemon left (a stalled loop) is kept.
    public mutating func recordExit(serviceResult: String?, exitCode: String?, exitStatus: String?, atNanos now: UInt64) {
        guard let last = runs.indices.last, runs[last].ending != .clean else { return }
        let (ending, systemdDetail) = Self.ending(serviceResult: serviceResult, exitCode: exitCode, exitStatus: exitStatus)
        runs[last].ending = ending
        if exitCode == "exited", let status = exitStatus.flatMap({ Int32($0) }) { runs[last].exitStatus = status }
        runs[last].endedAtNanos = runs[last].endedAtNanos ?? now
        runs[last].detail = runs[last].detail.map { "\($0); \(systemdDetail)" } ?? systemdDetail
    }

    /// The daemon noted why it is about to be restarted (before WATCHDOG=trigger).
    public mutating func noteCurrent(detail: String) {
        guard let last = runs.indices.last else { return }
        runs[last].detail = detail
    }

    // MARK: - Questions

    /// The run before the current one.
    public var previousRun: Run? { runs.count >= 2 ? runs[runs.count - 2] : nil }

    /// Runs within `window` before `now` that systemd restarted (see `Run.isFollowedByRestart`),
    /// the current one excluded: the restarts an operator asks about, as `NRestarts` counts them.
    public func restarts(withinNanos window: UInt64, ofNanos now: UInt64) -> [Run] {
        runs.dropLast().filter { run in
            run.isFollowedByRestart && now &- (run.endedAtNanos ?? run.startedAtNanos) <= window
        }
    }

    /// Earlier runs that ended this way and were restarted (`restarts_total`).
    public func count(of ending: Ending) -> Int {
        runs.dropLast().filter { $0.ending == ending && $0.isFollowedByRestart }.count
    }

    /// `Recovered after watchdog timeout (previous run 3h12m, restarts in the last 24h: 2)`,
    /// or nil when the previous run stopped cleanly or there was none.
    public func recoveryLine(atNanos now: UInt64) -> String? {
        guard let previous = previousRun, let ending = previous.ending, ending != .clean else { return nil }
        let lasted = (previous.endedAtNanos ?? now) &- previous.startedAtNanos
        let restarts = restarts(withinNanos: 86_400_000_000_000, ofNanos: now).count
        let detail = previous.detail.map { ": \($0)" } ?? ""
        return "Recovered after \(ending.phrase)\(detail) (previous run \(Self.formatSpan(lasted)), restarts in the last 24h: \(restarts))"
    }

    /// `3h12m`, `4m05s`, `12s`.
    public static func formatSpan(_ nanos: UInt64) -> String {
        let seconds = nanos / 1_000_000_000
        if seconds >= 86400 { return "\(seconds / 86400)d\(seconds % 86400 / 3600)h" }
        if seconds >= 3600 { return "\(seconds / 3600)h\(String(format2: seconds % 3600 / 60))m" }
        if seconds >= 60 { return "\(seconds / 60)m\(String(format2: seconds % 60))s" }
        return "\(seconds)s"
    }
}

extension String {
    /// Two digits, zero-padded.
    init(format2 value: UInt64) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}
