import LightScopeCapture
import LightScopeCore
import LightScopeSystem
import LightScopeStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The fleet shipper loop: delivers every event of the local store to the collector, exactly
/// once. The store is the spool: batches are read after the cursor, each sent as one INSERT
/// (its own transaction), and only once the collector has committed a batch and every one
/// before it is the cursor, kept in `events.sqlite`, moved past it (FleetShipper+Drain). A crash
/// anywhere re-sends at most the batches that were in flight, whose rows the collector skips.
///
/// Its own thread, with a heartbeat the runner's watchdog supervises like every loop's: all
/// network waits are sliced (`SocketWaiter`), so a slow or black-holed collector never keeps it
/// from beating.
public final class FleetShipper: SupervisedLoop, @unchecked Sendable {
    public typealias LogFunction = @Sendable (LogLevel, String) -> Void

    public let heartbeat = Heartbeat(loopName: "fleet shipper")
    /// How often the count of pending events is taken afresh from the store (it is kept
    /// up to date by subtraction while shipping).
    static let lagRefreshInterval: Duration = .seconds(5)

    /// Equal configurations ship the same way: a reload that leaves it alone keeps the shipper.
    public struct Configuration: Equatable, Sendable {
        public var settings: Settings.Fleet
        public var parameters: ConnectionParameters
        public var password: String?
        public var hostID: HostID
        public var hostName: String
        public var databasePath: String
        /// Applied to the host's own addresses in its heartbeat, as to the events' destinations.
        public var anonymiser: AddressAnonymiser
        /// Fault injection (tests only): end the process with SIGKILL right after this many
        /// batches have committed on the collector, before the cursor is written.
        public var killAfterCommits: Int?
    }

    public let configuration: Configuration
    /// The daemon's one count of lost events: the shipper reports `fleet` to the collector.
    private let lost: LostEvents
    let log: LogFunction
    private let thread = DedicatedThread()
    private let wakePipe = WakePipe()
    private let stopRequested = Atomic<Bool>(false)
    private let wakeIntervalMilliseconds: Atomic<Int64>
    private let published: Mutex<DaemonSnapshot.Fleet>
    private let hostFacts = Mutex<DaemonSnapshot?>(nil)
    // Touched only on the shipper thread once started.
    private(set) var store: EventStore?
    /// The connections to the collector: the first for heartbeats and batches, the others
    /// (up to `[fleet] connections`) only while a backlog drains (FleetShipper+Drain).
    var sessions: [FleetSession] = []
    /// How many of the next batches may hold rows the collector already has: those in flight
    /// when a connection (or an earlier run) ended. They skip known rows (ON CONFLICT DO NOTHING).
    var batchesThatMayBeKnown = 0
    /// When an extra connection was refused, none is tried again before then.
    var extraConnectionsHeldOffUntilNanos: UInt64 = 0
    private var problems = FleetProblems()
    private var backoff: FleetBackoff
    var commits = 0

    public init(configuration: Configuration, lost: LostEvents, wakeInterval: Duration, log: @escaping LogFunction) {
        self.configuration = configuration
        self.lost = lost
        self.log = log
        backoff = FleetBackoff(maximum: configuration.settings.retryMaxInterval)
        wakeIntervalMilliseconds = Atomic(max(1, min(wakeInterval, .seconds(1)).milliseconds))
        published = Mutex(DaemonSnapshot.Fleet(
            collector: configuration.parameters.hostDescription, hostIdentifier: configuration.hostID.description,
            hostName: configuration.hostName, connected: false, eventsPending: 0, oldestPendingAtNanos: nil,
            eventsShipped: 0, lastShippedAtNanos: nil, problem: nil))
    }

    public func start() {
        thread.start(name: "ls-fleet") { [self] in run() }
    }

    /// Ends the loop; a statement in flight is abandoned (its batch is re-sent by the next run
    /// and skipped by the collector if it had committed). False if the loop did not end in time.
    public func stop(timeout: Duration) -> Bool {
        stopRequested.store(true, ordering: .releasing)
        wakePipe.wake()
        return thread.join(timeout: timeout)
    }

    /// The watchdog's timing changed: wake (and beat) at least this often.
    public func setWakeInterval(_ interval: Duration) {
        wakeIntervalMilliseconds.store(max(1, min(interval, .seconds(1)).milliseconds), ordering: .relaxed)
        wakePipe.wake()
    }

    /// The runner's latest figures, for the host's heartbeat row.
    public func report(_ snapshot: DaemonSnapshot) {
        hostFacts.withLock { $0 = snapshot }
    }

    /// For status, metrics and STATUS=.
    public var snapshot: DaemonSnapshot.Fleet {
        published.withLock { $0 }
    }

    var isStopping: Bool { stopRequested.load(ordering: .acquiring) }

    var waiter: SocketWaiter {
        SocketWaiter(wakeDescriptor: wakePipe.readEnd, slice: .milliseconds(wakeIntervalMilliseconds.load(ordering: .relaxed)),
                     beat: { [heartbeat] in heartbeat.beat() }, shouldStop: { [unowned self] in isStopping })
    }

    // MARK: - The loop

    private func run() {
        heartbeat.beat()
        var nextAttemptNanos: UInt64 = 0
        var nextHeartbeatNanos: UInt64 = 0
        var nextLagRefreshNanos: UInt64 = 0
        while !isStopping {
            let now = MonotonicClock.nowNanos()
            if now >= nextLagRefreshNanos {
                refreshLag()
                nextLagRefreshNanos = now + UInt64(Self.lagRefreshInterval.nanoseconds)
            }
            if sessions.isEmpty, now >= nextAttemptNanos, store != nil {
                connect(retryAt: &nextAttemptNanos)
            }
            if !sessions.isEmpty {
                if now >= nextHeartbeatNanos {
                    if sendHeartbeat(retryAt: &nextAttemptNanos) {
                        nextHeartbeatNanos = now + UInt64(configuration.settings.interval.nanoseconds)
                    }
                }
                if !sessions.isEmpty { drain(retryAt: &nextAttemptNanos, heartbeatDueNanos: nextHeartbeatNanos) }
            }
            let wakeAt: UInt64
            if store == nil {
                wakeAt = nextLagRefreshNanos
            } else if sessions.isEmpty {
                wakeAt = nextAttemptNanos
            } else {
                wakeAt = min(now + UInt64(configuration.settings.interval.nanoseconds), max(nextHeartbeatNanos, now))
            }
            sleep(untilNanos: wakeAt)
        }
        sessions = []
        store = nil
    }

    /// Waits on the wake pipe until `deadline`, beating at least every wake interval.
    private func sleep(untilNanos deadline: UInt64) {
        var descriptor = pollfd(fd: wakePipe.readEnd, events: Int16(POLLIN), revents: 0)
        while !isStopping {
            let now = MonotonicClock.nowNanos()
            heartbeat.beat(now: now)
            guard now < deadline else { return }
            let slice = min(Int64((deadline - now) / 1_000_000) + 1, wakeIntervalMilliseconds.load(ordering: .relaxed))
            if poll(&descriptor, 1, Int32(slice)) > 0 {
                wakePipe.drain()
                return
            }
        }
    }

    private func connect(retryAt nextAttemptNanos: inout UInt64) {
        do {
            sessions = [try openSession()]
            // An earlier connection (or run) may have had this many batches in flight past the cursor.
            batchesThatMayBeKnown = configuration.settings.connections
            published.withLock { $0.connected = true }
            backoff.reset()
            log(.info, "Fleet: connected to \(configuration.parameters.hostDescription) as \(configuration.hostName) (host id \(configuration.hostID))")
        } catch {
            failed(error, retryAt: &nextAttemptNanos)
        }
    }

    /// A connection to the collector, checked and bound to this host (see `FleetSession`).
    func openSession() throws(PostgresError) -> FleetSession {
        try FleetSession(parameters: configuration.parameters, settings: configuration.settings,
                         password: configuration.password, hostID: configuration.hostID, waiter: waiter)
    }

    private func sendHeartbeat(retryAt nextAttemptNanos: inout UInt64) -> Bool {
        guard let session = sessions.first, let store else { return false }
        let lag = published.withLock { $0 }
        let facts = hostFacts.withLock { $0 }
        let interfaces = facts?.interfaces ?? []
        let loopback = [IPPrefix("127.0.0.0/8")!, IPPrefix("::1/128")!]
        let addresses = NetworkInterfaces.addresses().filter { address in !loopback.contains { $0.contains(address) } }
            .sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        let anonymiser = configuration.anonymiser
        let beat = FleetHeartbeat(
            name: configuration.hostName, storeID: (try? store.storeID()) ?? 0,
            captureUptimeNanos: facts.map { WallClock.nowNanos() &- $0.startedAtNanos } ?? 0,
            restarts: facts?.restarts.byEnding.values.reduce(0, +) ?? 0,
            packetsSeen: interfaces.reduce(0) { $0 &+ $1.packets }, packetsDropped: interfaces.reduce(0) { $0 &+ $1.drops },
            eventsPending: lag.eventsPending, oldestPendingAtNanos: lag.oldestPendingAtNanos, eventsLost: lost[.fleet],
            addresses: addresses.map { anonymiser.mode.anonymisesDestination ? anonymiser.pseudonym(for: $0) : $0.description },
            anonymisationKeyID: anonymiser.sourceKeyIdentifier)
        do throws(PostgresError) {
            try session.beat(beat)
            return true
        } catch {
            failed(error, retryAt: &nextAttemptNanos)
            return false
        }
    }

    // MARK: - Bookkeeping

    private func refreshLag() {
        do {
            if store == nil { store = try EventStore(path: configuration.databasePath) }
            guard let store else { return }
            let pending = try store.unshipped()
            published.withLock {
                $0.eventsPending = UInt64(pending.events)
                $0.oldestPendingAtNanos = pending.oldestTimeNanos
            }
            if problems.current?.kind == .store, let line = problems.resolved(nowNanos: MonotonicClock.nowNanos(), pending: UInt64(pending.events)) {
                log(.notice, line)
                publishProblem()
            }
        } catch {
            storeFailed(error)
        }
    }

    func shipped(_ count: Int) {
        let now = MonotonicClock.nowNanos()
        let pending = published.withLock { fleet -> UInt64 in
            fleet.eventsShipped += UInt64(count)
            fleet.eventsPending = fleet.eventsPending > UInt64(count) ? fleet.eventsPending - UInt64(count) : 0
            fleet.lastShippedAtNanos = WallClock.nowNanos()
            if fleet.eventsPending == 0 { fleet.oldestPendingAtNanos = nil }
            return fleet.eventsPending
        }
        if let line = problems.resolved(nowNanos: now, pending: pending + UInt64(count)) {
            log(.notice, line)
            publishProblem()
        }
    }

    func failed(_ error: PostgresError, retryAt nextAttemptNanos: inout UInt64) {
        sessions = []
        published.withLock { $0.connected = false }
        guard error.kind != .stopped else { return }
        let kind: FleetProblems.Kind = error.isCredentialsProblem ? .credentials : .collector
        let host = configuration.parameters.hostDescription
        let state = error.sqlState.map { " (SQLSTATE \($0))" } ?? ""
        if let (level, line) = problems.report(kind, "\(host): \(error.message)\(state)", nowNanos: MonotonicClock.nowNanos()) {
            log(level, line)
        }
        publishProblem()
        if kind == .credentials {
            // Retrying cannot fix a refusal by itself: try now and then, at the longest wait.
            backoff.reset()
            nextAttemptNanos = MonotonicClock.nowNanos() + UInt64(configuration.settings.retryMaxInterval.nanoseconds)
        } else {
            nextAttemptNanos = MonotonicClock.nowNanos() + backoff.nextDelayNanos()
        }
    }

    func storeFailed(_ error: StoreError) {
        store = nil
        // Batches may be in flight: start the next with fresh sessions.
        sessions = []
        published.withLock { $0.connected = false }
        if let (level, line) = problems.report(.store, error.message, nowNanos: MonotonicClock.nowNanos()) { log(level, line) }
        publishProblem()
    }

    private func publishProblem() {
        let note = problems.note
        published.withLock { $0.problem = note }
    }
}
