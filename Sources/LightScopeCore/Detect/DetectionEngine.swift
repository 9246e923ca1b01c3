/// Turns decoded packets into unwanted-traffic events: the telescope itself.
///
/// Pure and single-threaded (one engine per capture loop): packets and time come in,
/// events go out through `emit`. Verdicts for inbound traffic to a local address:
/// - TCP SYN answered by RST: `closed`;
/// - TCP SYN with no answer within `synAnswerTimeout`: `unanswered`, unless the port
///   listens (the service may be slow) — timers, not only packets, drive this;
/// - TCP SYN answered by SYN-ACK: fine, and the port is known open;
/// - UDP answered by ICMP/ICMPv6 port unreachable: `closed`;
/// - anything from a remote that had a connection to the same local port within `grace`
///   is a late packet of that connection, not unwanted.
/// Every failed attempt also feeds the `ScanTracker` (`portscan`, `addrscan`).
///
/// The class is a thin shell over `DetectionCore`, a struct it owns through a pointer: a
/// class's stored properties get a dynamic exclusivity check on every access (several per
/// packet), a pointee gets none. The engine is single-threaded by contract, and the core's
/// own accesses are checked statically.
public final class DetectionEngine {
    private let storage: UnsafeMutablePointer<DetectionCore>
    private var core: DetectionCore {
        unsafeAddress { UnsafePointer(storage) }
        unsafeMutableAddress { storage }
    }

    /// - Parameters:
    ///   - capacities: the tables' largest sizes, set by hand (tests); by default those of
    ///     the budget.
    ///   - budget: the memory the engine draws on, shared with the daemon's other engines;
    ///     by default a budget of its own from `settings`.
    ///   - scans: `.byCaller` leaves scan counting to a `ScanDetector` the caller runs on
    ///     this engine's events (see `ScanDetection`); the engine's events are then the
    ///     failures alone, and its counters and state leave scans out.
    ///   - clock: what the timers run on (see `DetectionClock`).
    public init(interface: String, settings: Settings.Detection, localAddresses: LocalAddresses,
                capacities: DetectionCapacities? = nil, budget: DetectionBudget? = nil, scans: ScanDetection = .inEngine,
                clock: DetectionClock = .captureTime) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: DetectionCore(interface: interface, settings: settings, localAddresses: localAddresses,
                                             capacities: capacities, budget: budget, scans: scans, clock: clock))
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    public var interface: String { core.interface }
    public var localAddresses: LocalAddresses { core.localAddresses }
    public var counters: DetectionCounters { core.counters }
    /// The interface name the engine's events carry.
    public var interfaceName: InterfaceName { core.interfaceName }
    public var state: DetectionState { core.state }

    public func updateListeningPorts(_ ports: ListeningPorts) { core.updateListeningPorts(ports) }

    /// How many probes the timer runs may take out for their verdicts from now on, until the
    /// next call: what the caller's sink can take (`EventSink.room`). Probes past their
    /// timeout beyond that stay pending, overdue, and are reported by a later run; an answer
    /// that comes for one meanwhile is too late and changes nothing. Unlimited until called.
    public func allowReports(_ count: Int) { core.allowReports(count) }
    public func updateLocalAddresses(_ addresses: Set<IPAddress>) { core.updateLocalAddresses(addresses) }

    /// One packet, captured at `timeNanos`: events go to `emit`, and a probe that a full
    /// table pushed out to make room goes to `lost` (its verdict will never be known).
    public func process(_ packet: DecodedPacket, timeNanos: UInt64, emit: (UnwantedEvent) -> Void, lost: (LostProbe) -> Void) {
        core.process(packet, timeNanos: timeNanos, emit: emit, lost: lost)
    }

    /// A hint that `packet` will be processed soon: starts loading the table entries it
    /// will look up, so that several packets' cache misses overlap instead of each stalling
    /// in turn. Changes no state and no verdict; a caller that knows a few packets ahead
    /// (replay, which reads a whole file; a packet loop, which holds one ring drain) calls it
    /// for each some packets before `process`.
    public func prefetch(_ packet: DecodedPacket) {
        withUnsafePointer(to: packet) { core.prefetch($0) }
    }

    /// `prefetch` of the packet at `packet` (a batch's slot), read where it is, not copied.
    public func prefetch(at packet: UnsafePointer<DecodedPacket>) {
        core.prefetch(packet)
    }

    /// Whether a packet at `timeNanos` would run the timers, for a caller that runs them
    /// itself first (`advance`) to know when they ran (see `ScanDetection.byCaller`). A
    /// packet detection has no use for (`PacketTriage` said so, without decoding it) matters
    /// only when its time runs them: then `advance` to it, as `process` would have.
    @_spi(Replay) public func timersAreDue(atNanos timeNanos: UInt64) -> Bool {
        core.timersAreDue(atNanos: timeNanos)
    }

    /// Runs the timers: pending SYNs past `synAnswerTimeout` become `unanswered`, old
    /// connections and scan windows are forgotten. `nowNanos` is on the timers' clock: the
    /// capture's time (`DetectionClock.captureTime`).
    public func advance(toNanos nowNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        core.advance(toNanos: nowNanos, emit: emit)
    }

    /// Runs the timers at the time the two clocks read now (`DetectionClock.monotonic`: live
    /// capture, on every wake-up).
    public func advance(monotonicNanos: UInt64, wallClockNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        core.advance(monotonicNanos: monotonicNanos, wallClockNanos: wallClockNanos, emit: emit)
    }

    /// The end of a capture file, or shutdown: every probe still waiting for an answer is
    /// resolved as if time ran on, so nothing pending is silently dropped.
    public func finish(emit: (UnwantedEvent) -> Void) {
        core.finish(emit: emit)
    }
}

