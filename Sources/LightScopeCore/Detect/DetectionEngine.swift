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

    typealias PendingTable = DetectionCore.PendingTable
    typealias ConnectionTable = DetectionCore.ConnectionTable

    /// - Parameter scans: `.byCaller` leaves scan counting to a `ScanDetector` the caller
    ///   runs on this engine's events (see `ScanDetection`); the engine's events are then
    ///   the failures alone, and its counters and state leave scans out.
    public init(interface: String, settings: Settings.Detection, localAddresses: LocalAddresses,
                capacities: DetectionCapacities? = nil, scans: ScanDetection = .inEngine) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: DetectionCore(interface: interface, settings: settings, localAddresses: localAddresses,
                                             capacities: capacities, scans: scans))
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
    public func updateLocalAddresses(_ addresses: Set<IPAddress>) { core.updateLocalAddresses(addresses) }

    public func process(_ packet: DecodedPacket, timeNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        core.process(packet, timeNanos: timeNanos, emit: emit)
    }

    /// A hint that `packet` will be processed soon: starts loading the table entries it
    /// will look up, so that several packets' cache misses overlap instead of each stalling
    /// in turn. Changes no state and no verdict; a caller that knows a few packets ahead
    /// (replay, which reads a whole file) calls it for each some packets before `process`.
    public func prefetch(_ packet: DecodedPacket) {
        core.prefetch(packet)
    }

    /// Whether a packet at `timeNanos` would run the timers, for a caller that runs them
    /// itself first (`advance`) to know when they ran (see `ScanDetection.byCaller`). A
    /// packet detection has no use for (`PacketTriage` said so, without decoding it) matters
    /// only when its time runs them: then `advance` to it, as `process` would have.
    public func timersAreDue(atNanos timeNanos: UInt64) -> Bool {
        core.timersAreDue(atNanos: timeNanos)
    }

    /// Runs the timers: pending SYNs past `synAnswerTimeout` become `unanswered`, old
    /// connections and scan windows are forgotten.
    public func advance(toNanos nowNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        core.advance(toNanos: nowNanos, emit: emit)
    }

    /// The end of a capture file, or shutdown: every probe still waiting for an answer is
    /// resolved as if time ran on, so nothing pending is silently dropped.
    public func finish(emit: (UnwantedEvent) -> Void) {
        core.finish(emit: emit)
    }
}

/// The engine's state and logic (see `DetectionEngine`).
struct DetectionCore {
    let interface: String
    /// `interface` as events carry it, made once.
    let interfaceName: InterfaceName
    private let settings: Settings.Detection
    private let synAnswerTimeoutNanos: UInt64
    private let graceNanos: UInt64
    private(set) var localAddresses: LocalAddresses
    /// The host's listening TCP ports (from `ListeningPorts`).
    private var listeningTCP = PortSet()
    /// TCP ports seen answering with SYN-ACK.
    private var answeredPorts = PortSet()
    private var pending: PendingTable
    private var connections: ConnectionTable
    /// Nil when the caller counts scans (`ScanDetection.byCaller`).
    private var scans: ScanDetector?
    private var timers = PacketDrivenTimers()
    /// The probes a timer run takes out, kept between runs so that its storage is reused:
    /// grown by doubling afresh each run, it was copied about eleven times per run. Kept
    /// only up to `keptExpiredCapacity`: a flood's one large expiry is not held for good.
    private var expiredProbes: [(ProbeKey, PendingProbe)] = []
    /// About 850 KB of probes; a timer run of the 3M-packet benchmark expires about 2,000.
    static let keptExpiredCapacity = 8192
    private var probeCounters = DetectionCounters()

    typealias PendingTable = ExpiringTable<ProbeKey, PendingProbe>
    typealias ConnectionTable = ExpiringTable<ConnectionKey, Bool>

    init(interface: String, settings: Settings.Detection, localAddresses: LocalAddresses,
         capacities: DetectionCapacities? = nil, scans placement: ScanDetection = .inEngine) {
        self.interface = interface
        interfaceName = InterfaceName(interface)
        self.settings = settings
        self.localAddresses = localAddresses
        synAnswerTimeoutNanos = UInt64(settings.synAnswerTimeout.nanoseconds)
        graceNanos = UInt64(settings.grace.nanoseconds)
        let limits = capacities ?? DetectionCapacities(settings: settings)
        pending = ExpiringTable(capacity: limits.pendingProbes)
        connections = ExpiringTable(capacity: limits.recentConnections)
        switch placement {
        case .inEngine: scans = ScanDetector(interface: interfaceName, settings: settings, capacity: limits.scanSources)
        case .byCaller: scans = nil
        }
    }

    mutating func updateListeningPorts(_ ports: ListeningPorts) { listeningTCP = PortSet(ports.tcp) }
    mutating func updateLocalAddresses(_ addresses: Set<IPAddress>) { localAddresses.replace(addresses: addresses) }

    var state: DetectionState {
        DetectionState(pendingProbes: pending.count, recentConnections: connections.count, scanSources: scans?.trackedSources ?? 0,
                       evictions: pending.evictions &+ connections.evictions &+ (scans?.evictions ?? 0),
                       probeEvictions: pending.evictions, scanSourceEvictions: scans?.evictions ?? 0)
    }

    /// The probe verdicts' counts, and the scans' when the engine counts them.
    var counters: DetectionCounters {
        guard let scans else { return probeCounters }
        return probeCounters.adding(scans.counters)
    }

    mutating func process(_ packet: DecodedPacket, timeNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        passOver(timeNanos: timeNanos, emit: emit)
        switch packet.transport {
        case .tcp(let segment):
            let flags = segment.flags
            if flags.contains(.syn) {
                if flags.contains(.ack) {
                    answered(byOpen: packet, segment, timeNanos: timeNanos)
                } else if !flags.contains(.rst) {
                    inboundSYN(packet, segment, timeNanos: timeNanos)
                }
            } else if flags.contains(.rst) {
                answered(byReset: packet, segment, timeNanos: timeNanos, emit: emit)
            }
        case .icmpUnreachable(let unreachable):
            portUnreachable(packet, unreachable, timeNanos: timeNanos, emit: emit)
        case .udp, .icmp, .other:
            break
        }
    }

    /// What `process` does for every packet before looking at it: runs the timers when the
    /// packet's time says they are due.
    @inline(__always)
    mutating func passOver(timeNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        if timersAreDue(atNanos: timeNanos) {
            advance(toNanos: timeNanos, emit: emit)
        }
    }

    @inline(__always)
    func timersAreDue(atNanos timeNanos: UInt64) -> Bool {
        timers.areDue(atNanos: timeNanos)
    }

    /// The lookups `process` will make for `packet`, started early (see `DetectionEngine.prefetch`).
    /// `mutating` though it changes nothing: called through the engine's pointer, a
    /// non-mutating call would copy the whole core (and retain every table) first.
    mutating func prefetch(_ packet: DecodedPacket) {
        guard case .tcp(let segment) = packet.transport else { return }
        let flags = segment.flags
        if flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst) {
            pending.prefetch(ProbeKey(remote: packet.source, remotePort: segment.sourcePort, local: packet.destination,
                                      localPort: segment.destinationPort))
        } else if flags.contains(.rst) || flags.contains(.syn) {
            // An answer (RST or SYN-ACK) from the local side: its probe, the connection
            // check, and for a RST the scan count of the remote it closes on.
            pending.prefetch(ProbeKey(remote: packet.destination, remotePort: segment.destinationPort, local: packet.source,
                                      localPort: segment.sourcePort))
            connections.prefetch(ConnectionKey(remote: packet.destination, localPort: segment.sourcePort))
            if flags.contains(.rst) { scans?.prefetch(source: packet.destination) }
        }
    }

    /// Runs the timers: pending SYNs past `synAnswerTimeout` become `unanswered`, old
    /// connections and scan windows are forgotten.
    mutating func advance(toNanos nowNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        timers.ran(atNanos: nowNanos)
        if nowNanos > synAnswerTimeoutNanos {
            let cutoff = nowNanos - synAnswerTimeoutNanos
            // Taken out of `self` while the table calls back (the closure may not touch `self`).
            var expired: [(ProbeKey, PendingProbe)] = []
            swap(&expired, &expiredProbes)
            expired.removeAll(keepingCapacity: true)
            pending.expire(touchedAtOrBefore: cutoff) { expired.append(($0, $1)) }
            unanswered(expired, emit: emit)
            if expired.capacity <= Self.keptExpiredCapacity { swap(&expired, &expiredProbes) }
        }
        if nowNanos > graceNanos {
            connections.expire(touchedAtOrBefore: nowNanos - graceNanos) { _, _ in }
        }
        scans?.timersRan(atNanos: nowNanos)
    }

    /// The end of a capture file, or shutdown: every probe still waiting for an answer is
    /// resolved as if time ran on, so nothing pending is silently dropped.
    mutating func finish(emit: (UnwantedEvent) -> Void) {
        // Reported a chunk at a time, in the timer runs' reused array: all at once, a large
        // table's worth (80,000 probes, 8 MB, at the end of the benchmark's capture) went to
        // fresh memory that the kernel had to fault in and zero first. The table is taken out
        // of `self` while it hands its probes over, so that each chunk can be reported (which
        // uses `self`) before the next is taken; it is empty when it goes back.
        var draining = PendingTable(capacity: 1)
        swap(&draining, &pending)
        var chunk: [(ProbeKey, PendingProbe)] = []
        swap(&chunk, &expiredProbes)
        chunk.removeAll(keepingCapacity: true)
        draining.drain { key, probe in
            chunk.append((key, probe))
            guard chunk.count == Self.keptExpiredCapacity else { return }
            unanswered(chunk, emit: emit)
            chunk.removeAll(keepingCapacity: true)
        }
        unanswered(chunk, emit: emit)
        chunk.removeAll(keepingCapacity: true)
        if chunk.capacity <= Self.keptExpiredCapacity { swap(&chunk, &expiredProbes) }
        swap(&draining, &pending)
    }

    // MARK: - Packets

    private mutating func inboundSYN(_ packet: DecodedPacket, _ segment: TCPSegment, timeNanos: UInt64) {
        guard localAddresses.mayBeInbound(source: packet.source, destination: packet.destination) else { return }
        probeCounters.probes &+= 1
        let key = ProbeKey(remote: packet.source, remotePort: segment.sourcePort, local: packet.destination, localPort: segment.destinationPort)
        // A retransmitted SYN adds to the probe; its timeout still runs from the first one.
        // A new probe is made with no packets and then counted like any SYN.
        pending.insertOrModify(key, nowNanos: timeNanos, makeValue: {
            PendingProbe(firstSeenNanos: timeNanos, packets: 0, ttl: packet.ttl, window: segment.window, options: segment.options)
        }, { $0.packets &+= 1 })
    }

    private mutating func answered(byOpen packet: DecodedPacket, _ segment: TCPSegment, timeNanos: UInt64) {
        let key = ProbeKey(remote: packet.destination, remotePort: segment.destinationPort, local: packet.source, localPort: segment.sourcePort)
        let probe = pending.removeValue(forKey: key)
        guard probe != nil || localAddresses.contains(packet.source) else { return }
        guard localAddresses.acceptAnswer(from: packet.source) else { return }
        answeredPorts.insert(segment.sourcePort)
        connections.upsert(ConnectionKey(remote: packet.destination, localPort: segment.sourcePort), true, nowNanos: timeNanos)
    }

    private mutating func answered(byReset packet: DecodedPacket, _ segment: TCPSegment, timeNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        let key = ProbeKey(remote: packet.destination, remotePort: segment.destinationPort, local: packet.source, localPort: segment.sourcePort)
        // One lookup: the probe is taken only if the answer may speak for this host, and the
        // answering address is learnt (when learning) only if it answered a probe.
        guard localAddresses.mayAcceptAnswer(from: packet.source), let probe = pending.removeValue(forKey: key) else { return }
        localAddresses.accept(answerFrom: packet.source)
        guard !isLateConnectionPacket(remote: key.remote, localPort: key.localPort) else { return }
        report(.closed, key: key, probe: probe, emit: emit)
    }

    private mutating func portUnreachable(_ packet: DecodedPacket, _ unreachable: ICMPUnreachable, timeNanos: UInt64,
                                 emit: (UnwantedEvent) -> Void) {
        guard unreachable.isPortUnreachable, let quoted = unreachable.quoted, quoted.protocolNumber == IPProtocolNumber.udp,
              let remotePort = quoted.sourcePort, let localPort = quoted.destinationPort,
              !localAddresses.contains(quoted.source), localAddresses.acceptAnswer(from: packet.source) else { return }
        probeCounters.probes &+= 1
        let event = UnwantedEvent(timeNanos: timeNanos, interface: interfaceName, proto: .udp, source: quoted.source,
                                  sourcePort: remotePort, destination: quoted.destination, destinationPort: localPort,
                                  verdict: .closed, packets: 1, ttl: quoted.ttl)
        probeCounters.count(.closed)
        emit(event)
        recordFailure(source: quoted.source, destination: quoted.destination, port: localPort, proto: .udp,
                      timeNanos: timeNanos, emit: emit)
    }

    // MARK: - Verdicts

    /// Probes out of time, oldest first (a timer's worth, or every one left at the end).
    private mutating func unanswered(_ probes: [(ProbeKey, PendingProbe)], emit: (UnwantedEvent) -> Void) {
        for index in probes.indices {
            // The lookups of a probe a few places on start now (see `prefetch(_:)`).
            if index + PendingTable.expiryPrefetchDistance < probes.count {
                let ahead = probes[index + PendingTable.expiryPrefetchDistance].0
                connections.prefetch(ConnectionKey(remote: ahead.remote, localPort: ahead.localPort))
                scans?.prefetch(source: ahead.remote)
            }
            unanswered(probes[index].0, probes[index].1, emit: emit)
        }
    }

    private mutating func unanswered(_ key: ProbeKey, _ probe: PendingProbe, emit: (UnwantedEvent) -> Void) {
        // A listening port that did not answer in time is busy, not closed.
        if listeningTCP.contains(key.localPort) || answeredPorts.contains(key.localPort) { return }
        if isLateConnectionPacket(remote: key.remote, localPort: key.localPort) { return }
        // Learning local addresses from answers: only a destination known to be local is ours.
        guard localAddresses.contains(key.local) else { return }
        report(.unanswered, key: key, probe: probe, emit: emit)
    }

    private mutating func report(_ verdict: Verdict, key: ProbeKey, probe: PendingProbe, emit: (UnwantedEvent) -> Void) {
        probeCounters.count(verdict)
        emit(UnwantedEvent(timeNanos: probe.firstSeenNanos, interface: interfaceName, proto: .tcp, source: key.remote,
                           sourcePort: key.remotePort, destination: key.local, destinationPort: key.localPort,
                           verdict: verdict, packets: probe.packets, ttl: probe.ttl, tcpWindow: probe.window,
                           options: probe.options))
        recordFailure(source: key.remote, destination: key.local, port: key.localPort, proto: .tcp,
                      timeNanos: probe.firstSeenNanos, emit: emit)
    }

    /// A failure also counts towards its source's scans, when the engine counts them.
    @inline(__always)
    private mutating func recordFailure(source: IPAddress, destination: IPAddress, port: UInt16, proto: TransportProtocol,
                                        timeNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        scans?.recordFailure(source: source, destination: destination, port: port, proto: proto, timeNanos: timeNanos, emit: emit)
    }

    private func isLateConnectionPacket(remote: IPAddress, localPort: UInt16) -> Bool {
        connections[ConnectionKey(remote: remote, localPort: localPort)] != nil
    }
}

/// One inbound connection attempt, from the remote's point of view.
///
/// The addresses come first so the ports pack together (40 bytes, not 48): the key is
/// stored in every pending probe's table slot and ring record.
struct ProbeKey: Hashable, FastHashKey {
    var remote: IPAddress
    var local: IPAddress
    var remotePort: UInt16
    var localPort: UInt16

    init(remote: IPAddress, remotePort: UInt16, local: IPAddress, localPort: UInt16) {
        self.remote = remote
        self.local = local
        self.remotePort = remotePort
        self.localPort = localPort
    }

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 {
        seed.hash(remote.high, remote.low, local.high, local.low, UInt64(remotePort) << 16 | UInt64(localPort))
    }
}

/// A remote that had a real connection to a local port.
struct ConnectionKey: Hashable, FastHashKey {
    var remote: IPAddress
    var localPort: UInt16

    @inline(__always)
    func hash(seed: FastHashSeed) -> UInt64 {
        seed.hash(remote.high, remote.low, UInt64(localPort))
    }
}

/// A SYN waiting for its answer, with what the event will need of it.
struct PendingProbe {
    var firstSeenNanos: UInt64
    var packets: UInt32
    var ttl: UInt8
    var window: UInt16
    var options: TCPOptions
}

/// Sizes of the detection tables right now.
public struct DetectionState: Equatable, Sendable {
    public var pendingProbes: Int
    public var recentConnections: Int
    public var scanSources: Int
    /// Entries pushed out by the capacity limits (memory budget), summed over the tables.
    public var evictions: UInt64
    /// Pending probes pushed out before their verdict: each one a lost event.
    public var probeEvictions: UInt64
    /// Scan sources pushed out with their counts: lost scan state, not lost events.
    public var scanSourceEvictions: UInt64
}

public struct DetectionCounters: Equatable, Sendable {
    /// Inbound connection attempts to local addresses (TCP SYNs, UDP probes seen through ICMP).
    public var probes: UInt64 = 0
    /// Indexed by `Verdict.caseIndex`: counted once per event, so no hashing.
    private var eventCounts = [UInt64](repeating: 0, count: Verdict.allCases.count)

    mutating func count(_ verdict: Verdict) { eventCounts[verdict.caseIndex] &+= 1 }

    /// Both counts together.
    func adding(_ other: DetectionCounters) -> DetectionCounters {
        var sum = self
        sum.probes &+= other.probes
        for index in sum.eventCounts.indices { sum.eventCounts[index] &+= other.eventCounts[index] }
        return sum
    }

    /// The verdicts seen so far, with their counts.
    public var eventsByVerdict: [Verdict: UInt64] {
        var counts: [Verdict: UInt64] = [:]
        for verdict in Verdict.allCases where eventCounts[verdict.caseIndex] > 0 { counts[verdict] = eventCounts[verdict.caseIndex] }
        return counts
    }

    public var events: UInt64 { eventCounts.reduce(0, &+) }
}
