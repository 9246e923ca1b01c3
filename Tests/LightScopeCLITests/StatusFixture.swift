import Foundation
import LightScopeCore
import LightScopeSystem
import LightScopeTestSupport

/// A daemon snapshot with every part filled (fragments, store, fleet, a reload), the same
/// figures every time, for the golden status and metrics outputs.
enum StatusFixture {
    static func snapshot(pid: Int32, storePath: String, nowNanos: UInt64 = WallClock.nowNanos()) -> DaemonSnapshot {
        var fragments = FragmentCounters()
        fragments.reassembled = 7
        fragments.overlapping = 1
        fragments.evicted = 2
        fragments.expired = 3
        return DaemonSnapshot(
            version: "0.1.0", pid: pid, startedAtNanos: nowNanos - 3 * 3_600_000_000_000, updatedAtNanos: nowNanos,
            status: "Processing packets: 1234 seen, 12 pps, 37 unwanted, 0 dropped; interfaces eth0,eth1",
            interfaces: [.init(name: "eth0", capturing: true, packets: 1000, bytes: 64000, packetsPerSecond: 10, drops: 0, unwanted: 30, malformed: 1),
                         .init(name: "eth1", capturing: false, packets: 234, bytes: 14040, packetsPerSecond: 2, drops: 5, unwanted: 7, malformed: 0)],
            loops: [.init(name: "runner loop", heartbeatAgeNanos: 100_000_000, stalled: false),
                    .init(name: "capture eth0", heartbeatAgeNanos: 250_000_000, stalled: false),
                    .init(name: "event writer", heartbeatAgeNanos: 900_000_000, stalled: false)],
            watchdog: .init(timeoutNanos: nil, pingIntervalNanos: 15_000_000_000, stallLimitNanos: 30_000_000_000,
                            pingsSent: 0, lastPingAtNanos: nil, stallsDetected: 1),
            events: .init(byVerdict: ["closed": 30, "portscan": 2, "unanswered": 5], byTool: ["nmap": 2, "unknown": 35]),
            detection: .init(pendingProbes: 4, scanSources: 3, evictions: 6, probeEvictions: 1, scanSourceEvictions: 2, slowScanEvictions: 3),
            store: .init(path: storePath, sizeBytes: 40960, eventsWritten: 37, errors: 0),
            lostEvents: ["queue": 2, "eviction": 1], restarts: .init(byEnding: ["watchdog": 1, "crash": 2], lastRestartAtNanos: nil, lastReason: nil),
            fleet: .init(collector: "collector:5432", hostIdentifier: "6c1f3a52-9e44-4b0d-8a57-2cd17e903b64", hostName: "web1",
                         connected: true, eventsPending: 3, oldestPendingAtNanos: nil, eventsShipped: 34, lastShippedAtNanos: nil,
                         problem: nil),
            reload: .init(generation: 1, applied: true, problem: nil, exitCode: nil, atNanos: nowNanos - 60_000_000_000),
            fragments: fragments)
    }
}

/// A live process whose name starts with "lightscope", as `status` requires of the status
/// file's pid: a copy of sleep(1) under that name. `status` only looks at /proc/<pid>/comm.
final class StandInDaemon {
    let pid: Int32
    private let process = Process()
    private let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "lightscope-standin-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let binary = directory + "/lightscope-standin"
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: binary)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["300"]
        try process.run()
        pid = process.processIdentifier
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
