/// The running daemon's live state at one moment: what `lightscope status` shows, what the
/// status file holds (JSON) and what the Prometheus endpoint serves. Built by the runner
/// every status interval; pure data.
public struct DaemonSnapshot: Codable, Equatable, Sendable {
    public var version: String
    public var pid: Int32
    public var startedAtNanos: UInt64
    public var updatedAtNanos: UInt64
    /// The STATUS= text.
    public var status: String
    public var interfaces: [Interface]
    public var loops: [Loop]
    public var watchdog: Watchdog
    public var events: Events
    public var detection: Detection
    public var store: Store?
    /// Every event lost since start, by `EventLossReason` name (zeros included).
    public var lostEvents: [String: UInt64]
    public var restarts: Restarts
    /// nil when `[fleet] url` is empty.
    public var fleet: Fleet?
    /// The outcome of the latest SIGHUP; nil before the first. What `lightscope reload` waits for.
    public var reload: Reload?

    public struct Reload: Codable, Equatable, Sendable {
        /// The reloads of this run so far: the first SIGHUP is 1.
        public var generation: UInt64
        public var applied: Bool
        /// Why it was rejected, with the fix.
        public var problem: String?
        /// The exit status that goes with the problem (78 for a config error, 77 for privileges).
        public var exitCode: Int32?
        public var atNanos: UInt64

        public init(generation: UInt64, applied: Bool, problem: String?, exitCode: Int32?, atNanos: UInt64) {
            self.generation = generation
            self.applied = applied
            self.problem = problem
            self.exitCode = exitCode
            self.atNanos = atNanos
        }
    }
    /// What became of TCP headers split across fragments, summed over the interfaces; nil in
    /// a status file from a version without it.
    public var fragments: FragmentCounters?

    public struct Interface: Codable, Equatable, Sendable {
        public var name: String
        public var capturing: Bool
        public var packets: UInt64
        public var bytes: UInt64
        public var packetsPerSecond: UInt64
        public var drops: UInt64
        public var unwanted: UInt64
        /// Packets the decoder turned away as malformed (not counting non-IP traffic).
        public var malformed: UInt64

        public init(name: String, capturing: Bool, packets: UInt64, bytes: UInt64, packetsPerSecond: UInt64,
                    drops: UInt64, unwanted: UInt64, malformed: UInt64) {
            self.name = name
            self.capturing = capturing
            self.packets = packets
            self.bytes = bytes
            self.packetsPerSecond = packetsPerSecond
            self.drops = drops
            self.unwanted = unwanted
            self.malformed = malformed
        }
    }

    public struct Loop: Codable, Equatable, Sendable {
        public var name: String
        public var heartbeatAgeNanos: UInt64
        public var stalled: Bool

        public init(name: String, heartbeatAgeNanos: UInt64, stalled: Bool) {
            self.name = name
            self.heartbeatAgeNanos = heartbeatAgeNanos
            self.stalled = stalled
        }
    }

    public struct Watchdog: Codable, Equatable, Sendable {
        /// systemd's WatchdogSec in nanoseconds, nil when systemd is not watching.
        public var timeoutNanos: UInt64?
        public var pingIntervalNanos: UInt64
        public var stallLimitNanos: UInt64
        public var pingsSent: UInt64
        /// Wall-clock time of the last WATCHDOG=1.
        public var lastPingAtNanos: UInt64?
        public var stallsDetected: UInt64

        public init(timeoutNanos: UInt64?, pingIntervalNanos: UInt64, stallLimitNanos: UInt64, pingsSent: UInt64,
                    lastPingAtNanos: UInt64?, stallsDetected: UInt64) {
            self.timeoutNanos = timeoutNanos
            self.pingIntervalNanos = pingIntervalNanos
            self.stallLimitNanos = stallLimitNanos
            self.pingsSent = pingsSent
            self.lastPingAtNanos = lastPingAtNanos
            self.stallsDetected = stallsDetected
        }
    }

    /// This run's events. How many the store holds from the last hour, whichever run
    /// found them, is the reader's question to the store (`StatusReport.eventsLastHour`).
    public struct Events: Codable, Equatable, Sendable {
        /// Since this run started, by verdict name.
        public var byVerdict: [String: UInt64]
        /// Since this run started, by the name of the tool that sent the probe (`ScanTool`).
        public var byTool: [String: UInt64]

        public init(byVerdict: [String: UInt64], byTool: [String: UInt64] = [:]) {
            self.byVerdict = byVerdict
            self.byTool = byTool
        }

        /// A status file written before tools were counted reads with none counted.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            byVerdict = try container.decode([String: UInt64].self, forKey: .byVerdict)
            byTool = try container.decodeIfPresent([String: UInt64].self, forKey: .byTool) ?? [:]
        }
    }

    public struct Detection: Codable, Equatable, Sendable {
        public var pendingProbes: UInt64
        public var scanSources: UInt64
        /// Entries every table pushed out at its capacity.
        public var evictions: UInt64
        /// Of them, pending probes: lost events (also under `lostEvents["eviction"]`).
        public var probeEvictions: UInt64
        /// Of them, scan sources: lost scan state.
        public var scanSourceEvictions: UInt64
        /// Of them, slow-scan sources, the least recently active: a full table's ordinary
        /// turnover on a busy host, though a slow scan among them goes unreported.
        public var slowScanEvictions: UInt64

        public init(pendingProbes: UInt64, scanSources: UInt64, evictions: UInt64, probeEvictions: UInt64, scanSourceEvictions: UInt64,
                    slowScanEvictions: UInt64 = 0) {
            self.pendingProbes = pendingProbes
            self.scanSources = scanSources
            self.evictions = evictions
            self.probeEvictions = probeEvictions
            self.scanSourceEvictions = scanSourceEvictions
            self.slowScanEvictions = slowScanEvictions
        }

        /// A status file written before slow scans were counted reads with none evicted.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            pendingProbes = try container.decode(UInt64.self, forKey: .pendingProbes)
            scanSources = try container.decode(UInt64.self, forKey: .scanSources)
            evictions = try container.decode(UInt64.self, forKey: .evictions)
            probeEvictions = try container.decode(UInt64.self, forKey: .probeEvictions)
            scanSourceEvictions = try container.decode(UInt64.self, forKey: .scanSourceEvictions)
            slowScanEvictions = try container.decodeIfPresent(UInt64.self, forKey: .slowScanEvictions) ?? 0
        }
    }

    /// From the run history in the state directory, as it was when this run started.
    public struct Restarts: Codable, Equatable, Sendable {
        /// Runs in the kept history (last 50) by how they ended, other than clean stops.
        public var byEnding: [String: UInt64]
        /// When the previous unclean run ended (the restart that started this run).
        public var lastRestartAtNanos: UInt64?
        /// How the previous run ended, if not cleanly.
        public var lastReason: String?

        public init(byEnding: [String: UInt64], lastRestartAtNanos: UInt64?, lastReason: String?) {
            self.byEnding = byEnding
            self.lastRestartAtNanos = lastRestartAtNanos
            self.lastReason = lastReason
        }

        public init(history: RunHistory) {
            var counts: [String: UInt64] = [:]
            for ending in RunHistory.Ending.allCases where ending != .clean {
                counts[ending.rawValue] = UInt64(history.count(of: ending))
            }
            let previous = history.previousRun.flatMap { $0.ending == .clean ? nil : $0 }
            self.init(byEnding: counts, lastRestartAtNanos: previous.map { $0.endedAtNanos ?? $0.startedAtNanos },
                      lastReason: previous?.ending?.phrase)
        }
    }

    /// The local store; the events it could not take are in `lostEvents` (`disk`, `queue`).
    public struct Store: Codable, Equatable, Sendable {
        public var path: String
        public var sizeBytes: UInt64
        public var eventsWritten: UInt64
        public var errors: UInt64
        /// Events folded into aggregate events the store committed, not among `eventsWritten`
        /// (docs/store.md, "Aggregation"); nil in a status file from before aggregation.
        public var aggregated: UInt64?
        /// Aggregate events committed, each standing for one or more of `aggregated`.
        public var aggregatesWritten: UInt64?

        public init(path: String, sizeBytes: UInt64, eventsWritten: UInt64, errors: UInt64,
                    aggregated: UInt64? = nil, aggregatesWritten: UInt64? = nil) {
            self.path = path
            self.sizeBytes = sizeBytes
            self.eventsWritten = eventsWritten
            self.errors = errors
            self.aggregated = aggregated
            self.aggregatesWritten = aggregatesWritten
        }
    }

    public init(version: String, pid: Int32, startedAtNanos: UInt64, updatedAtNanos: UInt64, status: String,
                interfaces: [Interface], loops: [Loop], watchdog: Watchdog, events: Events, detection: Detection, store: Store?,
                lostEvents: [String: UInt64], restarts: Restarts, fleet: Fleet? = nil, reload: Reload? = nil,
                fragments: FragmentCounters? = nil) {
        self.version = version
        self.pid = pid
        self.startedAtNanos = startedAtNanos
        self.updatedAtNanos = updatedAtNanos
        self.status = status
        self.interfaces = interfaces
        self.loops = loops
        self.watchdog = watchdog
        self.events = events
        self.detection = detection
        self.store = store
        self.lostEvents = lostEvents
        self.restarts = restarts
        self.fleet = fleet
        self.reload = reload
        self.fragments = fragments
    }
}
