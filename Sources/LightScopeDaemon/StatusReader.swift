import LightScopeCore
import LightScopeSystem
import LightScopeStore
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads the running daemon's status file and run history for `lightscope status`.
public enum StatusReader {
    /// A status file older than this, from a live process, means the runner loop is stuck
    /// (it refreshes the file every status interval, 5 s by default).
    public static let staleAfterNanos: UInt64 = 60_000_000_000

    public enum Health: Int32, Sendable {
        case healthy = 0
        /// Running, but stalled or not refreshing its status.
        case unhealthy = 1
        /// LSB's "program is not running".
        case notRunning = 3
        /// LSB's "program or service status is unknown": the status file is closed to the caller.
        case unknown = 4
    }

    /// A status file is a few KiB; anything bigger is not one.
    static let maximumStatusBytes = 1 << 20

    public static func read(stateDirectory: String, environment: [String: String], nowNanos: UInt64 = WallClock.nowNanos())
        -> (report: StatusReport, health: Health) {
        let runtime = RuntimeDirectory.resolve(stateDirectory: stateDirectory, environment: environment)
        let statusPath = runtime + "/" + RuntimeDirectory.statusFileName
        let history = RunHistoryFile(stateDirectory: stateDirectory).load()
        let runs = Array(history.runs.suffix(StatusReport.runsShown).reversed())
        let data: Data
        switch FileText.readBytes(statusPath, maximumBytes: maximumStatusBytes) {
        case .success(let bytes):
            data = Data(bytes)
        case .failure(let failure) where ReadAccess.isDenied(failure.errorNumber):
            let problem = "Cannot read the status file \(statusPath): \(ReadAccess.permissionDenied)"
            return (StatusReport(running: false, problem: problem, daemon: nil, recentRuns: runs), .unknown)
        case .failure:
            let problem = "LightScope is not running: no status file at \(statusPath) (start it with 'systemctl start lightscope'; "
                + "a daemon started with --state-dir is found with the same --state-dir)"
            return (StatusReport(running: false, problem: problem, daemon: nil, recentRuns: runs), .notRunning)
        }
        guard let snapshot = try? StatusFile.decoder().decode(DaemonSnapshot.self, from: data) else {
            return (StatusReport(running: false, problem: "The status file \(statusPath) is unreadable; restart lightscope to rewrite it",
                                 daemon: nil, recentRuns: runs), .unhealthy)
        }
        let lastHour = eventsInLastHour(storePath: snapshot.store?.path ?? stateDirectory + "/" + EventStore.fileName, nowNanos: nowNanos)
        guard isLightScopeProcess(snapshot.pid) else {
            let problem = "LightScope is not running: process \(snapshot.pid) from \(statusPath) is gone (it stopped without removing its status; see 'journalctl -u lightscope')"
            return (StatusReport(running: false, problem: problem, daemon: snapshot, recentRuns: runs, eventsLastHour: lastHour), .notRunning)
        }
        let age = nowNanos &- snapshot.updatedAtNanos
        if nowNanos > snapshot.updatedAtNanos, age > staleAfterNanos {
            let problem = "LightScope (pid \(snapshot.pid)) has not refreshed its status for \(RunHistory.formatSpan(age)): its runner loop may be hung; systemd's watchdog restarts it, see 'journalctl -u lightscope'"
            return (StatusReport(running: true, problem: problem, daemon: snapshot, recentRuns: runs, eventsLastHour: lastHour), .unhealthy)
        }
        if let stalled = snapshot.loops.first(where: \.stalled) {
            let problem = "LightScope (pid \(snapshot.pid)) has a stalled loop: \(stalled.name); it has asked systemd for a restart"
            return (StatusReport(running: true, problem: problem, daemon: snapshot, recentRuns: runs, eventsLastHour: lastHour), .unhealthy)
        }
        return (StatusReport(running: true, problem: nil, daemon: snapshot, recentRuns: runs, eventsLastHour: lastHour), .healthy)
    }

    /// Events the store holds from the hour before `nowNanos`, as `lightscope events --since 1h`
    /// counts them: after a restart they are not only this run's. 0 for a store not created
    /// yet; nil when it cannot be read.
    static func eventsInLastHour(storePath: String, nowNanos: UInt64) -> UInt64? {
        var status = stat()
        if stat(storePath, &status) != 0, errno == ENOENT { return 0 }
        guard let store = try? EventStore(path: storePath, readOnly: true),
              let counts = try? store.countsByVerdict(since: nowNanos &- 3_600_000_000_000) else { return nil }
        return UInt64(counts.values.reduce(0, +))
    }

    /// True when `pid` is alive and is a lightscope process (a recycled PID is not).
    static func isLightScopeProcess(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let comm = FileManager.default.contents(atPath: "/proc/\(pid)/comm") else { return false }
        return String(decoding: comm, as: UTF8.self).hasPrefix("lightscope")
    }

    /// Paths unescaped (`/var/lib/...`, not `\/var\/lib\/...`): JSON allows both, and people read it.
    public static func json(_ report: StatusReport) -> String {
        let encoder = StatusFile.encoder()
        encoder.outputFormatting.insert(.withoutEscapingSlashes)
        return (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
