/// Every option LightScope has, with its default: the one named home of each
/// threshold and interval. The config file maps onto these 1:1 (see `ConfigFile`),
/// section by section.
public struct Settings: Equatable, Sendable {
    public var capture = Capture()
    public var watchdog = Watchdog()
    public var detection = Detection()
    public var metrics = Metrics()
    public var alert = Alert()
    public var log = Log()
    public var store = Store()
    public var fleet = Fleet()

    public init() {}

    public struct Capture: Equatable, Sendable {
        /// Interfaces to capture on. Empty: every up, non-loopback interface with an address.
        public var interfaces: [String] = []
        /// Bytes kept of each packet: enough for link, IP (with extension headers) and TCP
        /// headers, and for the headers quoted inside ICMP errors. Payload is never kept.
        public var snaplenBytes: Int = 256
        /// Kernel ring size per interface; larger rides out bursts without drops.
        public var bufferSizeMiB: Int = 4
        /// How often the set of interfaces is re-read, to pick up new ones and reopen returning ones.
        public var interfaceRescanInterval: Duration = .seconds(5)
        public init() {}
    }

    public struct Watchdog: Equatable, Sendable {
        /// Time between WATCHDOG=1 pings. nil: half of systemd's WATCHDOG_USEC.
        /// When set, it must be below the watchdog timeout.
        public var pingInterval: Duration?
        /// A loop that has not beaten for this long is declared stalled. nil: the watchdog timeout
        /// (or `fallbackStallLimit` when systemd's watchdog is off).
        public var stallLimit: Duration?
        /// How often STATUS= (and the status line) is refreshed.
        public var statusInterval: Duration = .seconds(5)
        public init() {}
    }

    /// What counts as unwanted, and how much state detection may hold. Zeek-style policy:
    /// named thresholds, apart from the mechanism that counts.
    public struct Detection: Equatable, Sendable {
        /// A SYN with no SYN-ACK or RST after this long is `unanswered`.
        public var synAnswerTimeout: Duration = .seconds(10)
        /// Probes from a remote that had a connection to the same local port within this
        /// period are late packets of that connection, not unwanted.
        public var grace: Duration = .seconds(20 * 60)
        /// Distinct ports of one host probed by one source within `portscanWindow`: a `portscan`.
        public var portscanPorts: Int = 15
        public var portscanWindow: Duration = .seconds(5 * 60)
        /// Distinct local addresses probed on one port by one source within `addrscanWindow`: an `addrscan`.
        public var addrscanAddresses: Int = 25
        public var addrscanWindow: Duration = .seconds(5 * 60)
        /// Upper bound for detection state (pending probes, recent connections, scan sources)
        /// per capture loop; the oldest entries are evicted, and counted, beyond it.
        public var memoryBudgetMiB: Int = 64
        /// How often the listening sockets are re-read (netlink sock_diag, or /proc/net/{tcp,tcp6,udp,udp6}).
        public var listeningRefreshInterval: Duration = .seconds(30)
        public init() {}
    }

    public struct Metrics: Equatable, Sendable {
        /// Where to serve Prometheus metrics (`GET /metrics`); nil: off. Opt-in, and meant
        /// for a loopback address: the figures describe the host's exposure.
        public var listen: MetricsEndpoint?
        public init() {}
    }

    /// What `lightscope-alert@.service` does when lightscope.service fails for good.
    public struct Alert: Equatable, Sendable {
        /// A shell command run with the alert text on its standard input (and LIGHTSCOPE_UNIT,
        /// LIGHTSCOPE_RESULT in its environment); nil: only the journal entry. Off by default.
        public var command: String?
        public init() {}
    }

    public struct Log: Equatable, Sendable {
        public var level: LogLevel = .info
        public init() {}
    }

    /// The local event store (`events.sqlite` in the state directory) and what it may keep.
    public struct Store: Equatable, Sendable {
        /// Events older than this are deleted. Applied every `EventWriter.retentionInterval` (5 min),
        /// not per insert, so the delete never sits on the hot path.
        public var retentionDays: Int = 90
        /// The store never keeps more events than this; the oldest go first. At roughly 200 bytes
        /// per event with its indexes, the default bounds the file near 200 MB even under a flood.
        public var maxEvents: Int = 1_000_000
        /// Which addresses are replaced by keyed pseudonyms in every sink (store, journal, JSON).
        public var anonymise: AddressAnonymisation = .off
        /// Event lines sent to the journal per second (bursts of four times as many); beyond
        /// it a flood is summarised, so journald's own rate limit never swallows the
        /// daemon's watchdog and error lines. The store keeps every event regardless.
        public var journalEventsPerSecond: Int = 50
        public init() {}
    }
}

/// Which event addresses are written as HMAC pseudonyms instead of in the clear.
/// Config names: `none`, `dst` (the local, monitored addresses), `both` (also the senders).
public enum AddressAnonymisation: String, CaseIterable, Sendable {
    case off = "none"
    case destination = "dst"
    case sourceAndDestination = "both"

    public var anonymisesSource: Bool { self == .sourceAndDestination }
    public var anonymisesDestination: Bool { self != .off }
}

/// syslog priorities, so the journal files every line at its real level.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case critical = 2, error = 3, warning = 4, notice = 5, info = 6, debug = 7

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue > rhs.rawValue }

    public var name: String {
        switch self {
        case .critical: "critical"
        case .error: "error"
        case .warning: "warning"
        case .notice: "notice"
        case .info: "info"
        case .debug: "debug"
        }
    }

    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = level
    }
}
