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
    public var blocklist = Blocklist()
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
        /// Packet loops per interface, joined by PACKET_FANOUT (`CaptureThreads`).
        public var threads: CaptureThreads = .fixed(1)
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
        /// What each distinct port adds toward `portscanPorts` (`PortWeighting`): every port 1
        /// by default, or ports below 1024 more, as scanlogd weighs them.
        public var portWeighting: PortWeighting = .uniform
        /// Distinct local addresses probed on one port by one source within `addrscanWindow`: an `addrscan`.
        public var addrscanAddresses: Int = 25
        public var addrscanWindow: Duration = .seconds(5 * 60)
        /// Distinct ports, or distinct local addresses, that one source's failed attempts reach
        /// within `slowscanWindow`, however slowly: a `slowscan` (estimated, `SlowScanTracker`).
        public var slowscanPorts: Int = 50
        public var slowscanAddresses: Int = 50
        public var slowscanWindow: Duration = .seconds(24 * 3600)
        /// Upper bound for detection state (pending probes, recent connections, scan sources)
        /// of the whole daemon, shared by every interface and packet loop; the oldest entries
        /// are evicted, and counted, beyond it (`DetectionBudget`, docs/capacity.md).
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
        /// Events older than this are deleted, in small batches between the writer's transactions,
        /// so the delete never holds up the queue of new events.
        public var retentionDays: Int = 90
        /// The store keeps no more events than this; the oldest go first, within a second of
        /// the limit being reached (retention runs in small batches between transactions).
        public var maxEvents: Int = 1_000_000
        /// The most the store may take on disk, its write-ahead log included; the oldest events go
        /// first. At 180-250 bytes per event with its indexes, a million events fit well inside
        /// the default, so `maxEvents` is the limit met first unless the admin lowers this one.
        public var maxStoreMiB: Int = 512
        /// Which addresses are replaced by keyed pseudonyms in every sink (store, journal, JSON).
        public var anonymise: AddressAnonymisation = .off
        /// The key file the pseudonyms are made with: a path, or a bare credential name looked up
        /// in `$CREDENTIALS_DIRECTORY`. nil: `anonymisation.key` in the state directory, generated
        /// on first use; a fleet that anonymises sources sets one key on every host instead.
        public var anonymisationKeyFile: String?
        /// Event lines sent to the journal per second (bursts of four times as many); beyond
        /// it a flood is summarised, so journald's own rate limit never swallows the
        /// daemon's watchdog and error lines. The store keeps every event regardless.
        public var journalEventsPerSecond: Int = 50
        public init() {}
    }
}

extension Settings {
    /// What `lightscope blocklist` may list, beyond the addresses it never lists (`BlocklistPolicy`).
    public struct Blocklist: Equatable, Sendable {
        /// Also leave out every address on the host's own on-link networks. Off: a compromised
        /// neighbour is a real scanner, and only its spoofed twin is harmless.
        public var excludeLocalNetworks = false
        /// Prefixes never listed, however many events their addresses have (partners,
        /// monitoring, the admin's own networks).
        public var allow: [IPPrefix] = []
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
