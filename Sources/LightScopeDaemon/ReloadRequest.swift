import LightScopeCore
import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `lightscope reload`, what the unit's ExecReload= runs. A SIGHUP alone cannot tell its sender
/// whether the daemon took the new config (RELOADING=1 and READY=1 go to systemd's socket), so
/// this signals the daemon and waits until its status file publishes the outcome of a newer
/// reload generation: `systemctl reload` then fails, with the reason, when the config was rejected.
public struct ReloadRequest {
    /// The runner answers within a loop wake-up and a reload (config, captures, a listener);
    /// longer means it is stuck, and systemd's watchdog will see to it.
    public static let answerTimeout: Duration = .seconds(30)
    static let pollInterval: Duration = .milliseconds(50)

    let statusPath: String
    let timeout: Duration
    /// Sends SIGHUP to the process; returns 0 or the errno.
    let signal: (Int32) -> Int32

    public struct Outcome: Equatable, Sendable {
        public var exitCode: Int32
        /// For stdout when it succeeded, for stderr otherwise.
        public var message: String
    }

    public init(stateDirectory: String, environment: [String: String], timeout: Duration = ReloadRequest.answerTimeout) {
        self.init(statusPath: RuntimeDirectory.resolve(stateDirectory: stateDirectory, environment: environment) + "/" + RuntimeDirectory.statusFileName,
                  timeout: timeout) { pid in kill(pid, SIGHUP) == 0 ? 0 : errno }
    }

    init(statusPath: String, timeout: Duration, signal: @escaping (Int32) -> Int32) {
        self.statusPath = statusPath
        self.timeout = timeout
        self.signal = signal
    }

    /// - Parameter pid: the daemon to reload (systemd's $MAINPID); by default the one the status file names.
    public func run(pid requested: Int32?) -> Outcome {
        let before: DaemonSnapshot
        switch readSnapshot() {
        case .success(let snapshot): before = snapshot
        case .failure(let problem): return Outcome(exitCode: ExitCode.failure.rawValue, message: problem.text)
        }
        let pid = requested ?? before.pid
        guard before.pid == pid else {
            return Outcome(exitCode: ExitCode.failure.rawValue,
                           message: "\(statusPath) is from pid \(before.pid), not \(pid): LightScope (pid \(pid)) has not published its status yet; try again")
        }
        let generation = before.reload?.generation ?? 0
        let failure = signal(pid)
        guard failure == 0 else {
            let reason = failure == EPERM ? "permission denied: run it as root or as the lightscope user" : String(cString: strerror(failure))
            return Outcome(exitCode: ExitCode.failure.rawValue, message: "Cannot signal LightScope (pid \(pid)): \(reason)")
        }
        let deadline = MonotonicClock.nowNanos() + UInt64(timeout.nanoseconds)
        while MonotonicClock.nowNanos() < deadline {
            usleep(UInt32(Self.pollInterval.nanoseconds / 1000))
            if case .success(let snapshot) = readSnapshot(), snapshot.pid == pid,
               let reload = snapshot.reload, reload.generation > generation {
                if reload.applied {
                    return Outcome(exitCode: ExitCode.success.rawValue, message: "Configuration reloaded (pid \(pid), reload \(reload.generation))")
                }
                return Outcome(exitCode: reload.exitCode ?? ExitCode.failure.rawValue,
                               message: "Reload rejected, the previous configuration stays in force: \(reload.problem ?? "no reason given")")
            }
            if kill(pid, 0) != 0, errno == ESRCH {
                return Outcome(exitCode: ExitCode.failure.rawValue, message: "LightScope (pid \(pid)) exited during the reload: see journalctl -u lightscope")
            }
        }
        return Outcome(exitCode: ExitCode.failure.rawValue,
                       message: "No answer from LightScope (pid \(pid)) within \(DurationText.format(timeout)): its runner loop may be stuck; see journalctl -u lightscope")
    }

    private struct Problem: Error {
        var text: String
    }

    private func readSnapshot() -> Result<DaemonSnapshot, Problem> {
        switch FileText.read(statusPath, maximumBytes: 1 << 20) {
        case .success(let text):
            guard let snapshot = try? StatusFile.decoder().decode(DaemonSnapshot.self, from: Data(text.utf8)) else {
                return .failure(Problem(text: "\(statusPath) is unreadable: is it from another LightScope version? Restart lightscope to rewrite it"))
            }
            return .success(snapshot)
        case .failure(let failure) where failure.errorNumber == EACCES || failure.errorNumber == EPERM:
            return .failure(Problem(text: "Cannot read \(statusPath): permission denied: run it as root or as the lightscope user"))
        case .failure(let failure):
            return .failure(Problem(text: "LightScope is not running: no status file at \(statusPath) (\(String(cString: strerror(failure.errorNumber)))); "
                + "a daemon started with --state-dir is found with the same --state-dir"))
        }
    }
}
