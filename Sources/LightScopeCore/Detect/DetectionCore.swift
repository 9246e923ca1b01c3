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
    var listeningTCP = PortSet()
    /// TCP ports seen answering with SYN-ACK, for `grace` to twice that.
    var answeredPorts: AnsweredPorts
    var pending: PendingProbes
    /// New IPv4 probes not in `pending` yet (`DetectionCore+HeldProbes`).
    let held: HeldProbes
    var connections: RecentConnections
    /// The host's own SYNs and datagrams, and backscatter per victim (`DetectionCore+Backscatter`).
    var outboundFlows: OutboundFlows
    var backscatterVictims: BackscatterVictims
    var options: TCPOptionsTable
    /// Names the tool that sent each new probe, from its first SYN (`ToolRules`).
    let toolFingerprint = ToolFingerprint()
    /// Nil when the caller counts scans (`ScanDetection.byCaller`).
    var scans: ScanDetector?
    /// Whether `scans` is set, as a flag: the verdict path tested the optional itself
    /// through an outlined copy of it, twice a judged probe (~24 instructions).
    let countsScans: Bool
    private(set) var timeline: CaptureTimeline
    private var timers = PacketDrivenTimers()
    /// The probes a timer run takes out, a chunk of at most `expiryChunk` at a time, kept
    /// between runs so that its storage is reused. A flood's expiry in one piece made this
    /// buffer as large as a second of the flood, memory beyond the budget.
    private var expiredProbes: [PendingProbe] = []
    static let expiryChunk = 8192
    /// Whether a timer run that took `taken` probes out, leaving `left`, is emptying the
    /// table of a flood that ended: the table then shrinks only once it is done. Shrinking
    /// meanwhile (halving at a quarter full, a run at a time) moved the probes left into a
    /// new table, to expire from it a run or two later: about one move per expired probe.
    /// A steady stream's run takes a small part of what is pending (its timer interval's
    /// share of `synAnswerTimeout`), and the table shrinks as before.
    static func isDraining(taken: Int, left: Int) -> Bool { taken > 0 && taken >= left / 8 }
    /// Stands in for `pending` while a timer run takes the probes out (`advance`).
    private let pendingStandIn = PendingProbes.placeholder()
    /// Probes the timer runs may still take out for their verdicts until the caller says
    /// again how much its sink can take (`allowReports`). The rest wait in the table,
    /// overdue, for a later run: a full event queue then delays their events rather than
    /// dropping them, and the table, not the queue, holds them (in their budget).
    private var reportAllowance = Int.max
    /// When the last timer run left probes overdue for want of allowance: those first seen at
    /// or before this time. An answer to one of them comes too late to change its verdict.
    var overdueThroughNanos: UInt64?
    var probeCounters = DetectionCounters()

    init(interface: String, settings: Settings.Detection, localAddresses: LocalAddresses, capacities: DetectionCapacities? = nil,
         budget: DetectionBudget? = nil, scans placement: ScanDetection = .inEngine, clock: DetectionClock = .captureTime,
         heldProbes: Int = HeldProbes.defaultCapacity) {
        self.interface = interface
        interfaceName = InterfaceName(interface)
        self.settings = settings
        self.localAddresses = localAddresses
        synAnswerTimeoutNanos = UInt64(settings.synAnswerTimeout.nanoseconds)
        graceNanos = UInt64(settings.grace.nanoseconds)
        answeredPorts = AnsweredPorts(memoryNanos: graceNanos)
        let budget = budget ?? capacities.map { DetectionBudget(capacities: $0) } ?? DetectionBudget(settings: settings)
        let limits = capacities ?? budget.capacities
        pending = PendingProbes(capacities: limits, budget: budget)
        held = HeldProbes(capacity: heldProbes)
        connections = RecentConnections(capacities: limits, budget: budget)
        outboundFlows = OutboundFlows(capacities: limits, budget: budget)
        backscatterVictims = BackscatterVictims(capacities: limits, budget: budget)
        options = TCPOptionsTable(maximumCapacity: limits.tcpOptions, pool: budget.pool(.tcpOptions))
        timeline = CaptureTimeline(clock: clock)
        switch placement {
        case .inEngine: scans = ScanDetector(interface: interfaceName, settings: settings, budget: budget)
        case .byCaller: scans = nil
        }
        countsScans = scans != nil
    }

    mutating func updateListeningPorts(_ ports: ListeningPorts) { listeningTCP = PortSet(ports.tcp) }
    mutating func allowReports(_ count: Int) { reportAllowance = max(0, count) }
    mutating func updateLocalAddresses(_ addresses: Set<IPAddress>) { localAddresses.replace(addresses: addresses) }

    var state: DetectionState {
        DetectionState(pendingProbes: pending.count + held.count, recentConnections: connections.count, scanSources: scans?.trackedSources ?? 0,
                       probeEvictions: pending.evictions, scanSourceEvictions: scans?.evictions ?? 0,
                       slowScanSources: scans?.slowScanSources ?? 0, slowScanEvictions: scans?.slowScanEvictions ?? 0,
                       connectionEvictions: connections.evictions, outboundFlowEvictions: outboundFlows.evictions,
                       backscatterVictimEvictions: backscatterVictims.evictions, optionsNotKept: options.notKeptCount,
                       tableBytes: pending.reservedBytes + connections.reservedBytes + options.reservedBytes
                           + outboundFlows.reservedBytes + backscatterVictims.reservedBytes
                           + (scans?.reservedBytes ?? 0))
    }

    /// The probe verdicts' counts, and the scans' when the engine counts them.
    var counters: DetectionCounters {
        guard let scans else { return probeCounters }
        return probeCounters.adding(scans.counters)
    }

    mutating func process(_ packet: DecodedPacket, timeNanos: UInt64, emit: (UnwantedEvent) -> Void, lost: (LostProbe) -> Void) {
        let (clockNanos, generation) = timeline.clockTime(ofCapture: timeNanos)
        passOver(clockNanos: clockNanos, emit: emit)
        // A SYN, or a FIN, NULL or Xmas probe (no real connection sends a segment without ACK
        // after its SYN): a flood's every packet, so here, and the rest apart (`processAnswer`).
        // With every case here, `process` kept more in its frame and spilled more for each SYN
        // (151 instructions of its own a SYN against 120).
        if case .tcp(let segment) = packet.transport, !segment.flags.contains(.ack), !segment.flags.contains(.rst) {
            // Asked once for both checks (`isFromHost`, `mayBeInbound`).
            let sourceIsLocal = localAddresses.contains(packet.source)
            if segment.flags.contains(.syn) && packet.direction != .inbound && sourceIsLocal {
                hostSent(isUDP: false, packet, sourcePort: segment.sourcePort, destinationPort: segment.destinationPort,
                         clockNanos: clockNanos)
            } else {
                inboundProbe(packet, segment, sourceIsLocal: sourceIsLocal, clockNanos: clockNanos, generation: generation, lost: lost)
            }
            return
        }
        processAnswer(packet, timeNanos: timeNanos, clockNanos: clockNanos, generation: generation, emit: emit)
    }

    /// `process` of every packet but a probe's: answers, the host's own traffic, ICMP errors.
    @inline(never)
    private mutating func processAnswer(_ packet: DecodedPacket, timeNanos: UInt64, clockNanos: UInt64, generation: UInt8,
                                        emit: (UnwantedEvent) -> Void) {
        switch packet.transport {
        case .tcp(let segment):
            let flags = segment.flags
            if flags.contains(.syn) {
                // A SYN-ACK (a SYN with RST and without ACK is nothing to answer or probe).
                guard flags.contains(.ack) else { return }
                if isToHost(packet) {
                    inboundAnswer(packet, segment, answer: .synAck, clockNanos: clockNanos, generation: generation, emit: emit)
                } else {
                    answered(byOpen: packet, segment, clockNanos: clockNanos, emit: emit)
                }
            } else if flags.contains(.rst) {
                if isToHost(packet) {
                    inboundAnswer(packet, segment, answer: .rst, clockNanos: clockNanos, generation: generation, emit: emit)
                } else {
                    // An ICMP error about the host's own RST is no backscatter either (its
                    // SYN-ACKs are in `connections`).
                    if isFromHost(packet) {
                        hostSent(isUDP: false, packet, sourcePort: segment.sourcePort, destinationPort: segment.destinationPort,
                                 clockNanos: clockNanos)
                    }
                    answered(byReset: packet, segment, timeNanos: timeNanos, clockNanos: clockNanos, emit: emit)
                }
            }
        case .udp(let datagram):
            if isFromHost(packet) {
                hostSent(isUDP: true, packet, sourcePort: datagram.sourcePort, destinationPort: datagram.destinationPort,
                         clockNanos: clockNanos)
            }
        case .icmpUnreachable(let unreachable):
            if isToHost(packet) {
                guard !unreachable.isFragmentationNeeded else { return }
                inboundError(packet, quoted: unreachable.quoted, answer: .icmpUnreachable, clockNanos: clockNanos,
                             generation: generation, emit: emit)
            } else {
                portUnreachable(packet, unreachable, timeNanos: timeNanos, clockNanos: clockNanos, emit: emit)
            }
        case .icmp(let message):
            if message.isTimeExceeded, isToHost(packet) {
                inboundError(packet, quoted: message.quoted, answer: .icmpTimeExceeded, clockNanos: clockNanos,
                             generation: generation, emit: emit)
            }
        case .tcpFragment, .other:
            break
        }
    }

    /// What `process` does for every packet before looking at it: runs the timers when the
    /// packet's time says they are due.
    @inline(__always)
    private mutating func passOver(clockNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        if timers.areDue(atNanos: clockNanos) {
            advance(toNanos: clockNanos, emit: emit)
        }
    }

    @inline(__always)
    func timersAreDue(atNanos timeNanos: UInt64) -> Bool {
        timers.areDue(atNanos: timeline.clockTime(ofCapture: timeNanos).nanos)
    }

    /// The lookups `process` will make for `packet`, started early (see `DetectionEngine.prefetch`).
    /// `mutating` though it changes nothing: called through the engine's pointer, a
    /// non-mutating call would copy the whole core (and retain every table) first.
    /// Read where the caller holds it (a batch's slot): passed by value, it was copied first.
    mutating func prefetch(_ packet: UnsafePointer<DecodedPacket>) {
        guard case .tcp(let segment) = packet.pointee.transport else { return }
        let flags = segment.flags
        // An IPv4 header carries IPv4 addresses: its probe's table is known without testing
        // both 128-bit addresses (about 14 instructions of every packet).
        let isIPv4 = !packet.pointee.isIPv6
        if !flags.contains(.ack) && !flags.contains(.rst) {
            pending.prefetch(ProbeKey(remote: packet.pointee.source, remotePort: segment.sourcePort, local: packet.pointee.destination,
                                      localPort: segment.destinationPort), headerIsIPv4: isIPv4)
        } else if flags.contains(.rst) || flags.contains(.syn) {
            // An answer (RST or SYN-ACK) from the local side: its probe, the connection
            // check, and for a RST the scan count of the remote it closes on.
            pending.prefetch(ProbeKey(remote: packet.pointee.destination, remotePort: segment.destinationPort,
                                      local: packet.pointee.source, localPort: segment.sourcePort), headerIsIPv4: isIPv4)
            connections.prefetch(remote: packet.pointee.destination, localPort: segment.sourcePort)
            if flags.contains(.rst) { scans?.prefetch(source: packet.pointee.destination) }
        }
    }

    /// Runs the timers at `nowNanos` on their clock: pending SYNs past `synAnswerTimeout`
    /// become `unanswered`, old connections and scan windows are forgotten, and tables
    /// that a flood grew and left nearly empty give memory back.
    mutating func advance(toNanos nowNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        sendHeldProbesToTable()
        timers.ran(atNanos: nowNanos)
        if nowNanos > synAnswerTimeoutNanos {
            // Each probe judged as it comes out of the table, with no array between them: the
            // table is taken out of `self` meanwhile (it may not touch `self`), the stand-in in
            // its place (nothing looks at it: the verdicts use no pending probe).
            let cutoff = nowNanos - synAnswerTimeoutNanos
            var table = pendingStandIn
            swap(&table, &pending)
            var run = VerdictRun(mayBeLate: hasRecentConnections)
            let taken = table.expire(firstSeenAtOrBefore: cutoff, limit: reportAllowance,
                                     ahead: { prefetchVerdict(of: $0, mayBeLate: run.mayBeLate) },
                                     eachIPv4: { unanswered(ipv4: $0, firstSeenNanos: $1, run: &run, emit: emit) }) {
                unanswered($0, run: &run, emit: emit)
            }
            swap(&table, &pending)
            reportAllowance -= taken
            overdueThroughNanos = reportAllowance == 0 ? cutoff : nil
            if !Self.isDraining(taken: taken, left: pending.count) { pending.shrinkIfSparse() }
        }
        if nowNanos > graceNanos {
            connections.expire(touchedAtOrBefore: nowNanos - graceNanos)
            outboundFlows.expire(touchedAtOrBefore: nowNanos - graceNanos)
        }
        closeBackscatterMinutes(atNanos: nowNanos, emit: emit)
        answeredPorts.age(toNanos: nowNanos)
        scans?.timersRan(atNanos: nowNanos)
    }

    mutating func advance(monotonicNanos: UInt64, wallClockNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        advance(toNanos: timeline.observe(monotonicNanos: monotonicNanos, wallClockNanos: wallClockNanos), emit: emit)
    }

    /// The end of a capture file, or shutdown: every probe still waiting for an answer is
    /// resolved as if time ran on, so nothing pending is silently dropped.
    mutating func finish(emit: (UnwantedEvent) -> Void) {
        sendHeldProbesToTable()
        // Reported a chunk at a time, in the timer runs' reused array: all at once, a large
        // table's worth went to fresh memory that the kernel had to fault in and zero first.
        // The probes are taken out of `self` while they are handed over, so that each chunk
        // can be reported (which uses `self`) before the next is taken; they are empty when
        // they go back.
        var draining = PendingProbes.placeholder()
        swap(&draining, &pending)
        var chunk: [PendingProbe] = []
        swap(&chunk, &expiredProbes)
        chunk.removeAll(keepingCapacity: true)
        draining.drain(chunkSize: Self.expiryChunk, chunk: &chunk) { unanswered($0, emit: emit) }
        swap(&chunk, &expiredProbes)
        swap(&draining, &pending)
        closeBackscatterMinutes(atNanos: nil, emit: emit)
    }

    // MARK: - Packets

    /// A SYN, or a stealth probe (neither SYN, ACK nor RST: `nmap -sF`, `-sN`, `-sX`), which a
    /// closed port answers with RST as it does a SYN, and an open one does not answer at all.
    private mutating func inboundProbe(_ packet: DecodedPacket, _ segment: TCPSegment, sourceIsLocal: Bool, clockNanos: UInt64,
                                       generation: UInt8, lost: (LostProbe) -> Void) {
        guard packet.direction != .outbound,
              localAddresses.mayBeInbound(sourceIsLocal: sourceIsLocal, destination: packet.destination) else { return }
        probeCounters.probes &+= 1
        let key = ProbeKey(remote: packet.source, remotePort: segment.sourcePort, local: packet.destination, localPort: segment.destinationPort)
        let isIPv4 = key.isIPv4
        if isIPv4 {
            if holdProbe(key, packet, segment, clockNanos: clockNanos, generation: generation) { return }
            sendHeldProbesToTable()
        }
        // A retransmitted SYN adds to the probe; its timeout still runs from the first one,
        // whose options it keeps.
        if !pending.holdsTime(clockNanos, isIPv4: isIPv4) {
            for probe in pending.movingClock(toInclude: clockNanos, isIPv4: isIPv4) { lose(probe, lost: lost) }
        }
        let optionsID = options.retain(segment.options)
        let tool = toolFingerprint.tool(of: packet, segment)
        var evicted: EvictedProbe?
        // An IPv4 probe (a flood's) by its compact key, tested once above.
        let inserted = isIPv4
            ? pending.insertOrCountIPv4(IPv4ProbeKey(key), clockNanos: clockNanos, generation: generation, ttl: packet.ttl,
                                        window: segment.window, options: optionsID, tool: tool, flags: segment.flags,
                                        evicted: &evicted)
            : pending.insertOrCount(key, clockNanos: clockNanos, generation: generation, ttl: packet.ttl, window: segment.window,
                                    options: optionsID, tool: tool, flags: segment.flags, evicted: &evicted)
        if !inserted { options.release(optionsID) }
        if let evicted { lose(evicted, lost: lost) }
    }

    /// A probe pushed out of a full table: handed over as lost.
    private mutating func lose(_ probe: EvictedProbe, lost: (LostProbe) -> Void) {
        options.release(probe.options)
        var loss = probe.loss
        loss.timeNanos = timeline.captureTime(ofClock: loss.timeNanos, generation: probe.generation)
        lost(loss)
    }

    /// A probe pushed out by moving the table's clock: handed over as lost.
    private mutating func lose(_ probe: PendingProbe, lost: (LostProbe) -> Void) {
        options.release(probe.options)
        lost(LostProbe(timeNanos: timeline.captureTime(ofClock: probe.firstSeenNanos, generation: probe.generation),
                       source: probe.key.remote, sourcePort: probe.key.remotePort, destination: probe.key.local,
                       destinationPort: probe.key.localPort, packets: probe.packets))
    }

    /// A SYN-ACK. Like every answer, it counts only if the host can have sent it
    /// (`DecodedPacket.mayBeHostAnswer`): one that came in is a forgery, whatever it claims.
    private mutating func answered(byOpen packet: DecodedPacket, _ segment: TCPSegment, clockNanos: UInt64,
                                   emit: (UnwantedEvent) -> Void) {
        guard packet.mayBeHostAnswer else { return }
        let key = ProbeKey(remote: packet.destination, remotePort: segment.destinationPort, local: packet.source, localPort: segment.sourcePort)
        let overdueThrough = overdueThroughNanos
        let probe: PendingProbes.AnsweredProbe?
        if let (record, firstSeen) = takeHeldProbe(key) {
            probe = overdueThrough.map { firstSeen <= $0 } ?? false ? .overdue(PendingProbe(record, firstSeenNanos: firstSeen))
                                                                    : .answered(options: record.options)
        } else {
            probe = pending.removeAnswered(key) { firstSeen in overdueThrough.map { firstSeen <= $0 } ?? false }
        }
        switch probe {
        case .answered(let id): options.release(id)
        // Too late: its verdict was due before this answer (`reportAllowance` held it back).
        case .overdue(let late): unanswered(late, emit: emit)
        case nil: break
        }
        guard probe != nil || localAddresses.contains(packet.source) else { return }
        guard localAddresses.acceptAnswer(from: packet.source) else { return }
        answeredPorts.insert(segment.sourcePort)
        connections.record(remote: packet.destination, localPort: segment.sourcePort, clockNanos: clockNanos)
    }

    private mutating func answered(byReset packet: DecodedPacket, _ segment: TCPSegment, timeNanos: UInt64, clockNanos: UInt64,
                                   emit: (UnwantedEvent) -> Void) {
        let key = ProbeKey(remote: packet.destination, remotePort: segment.destinationPort, local: packet.source, localPort: segment.sourcePort)
        // One lookup: the probe is taken only if the answer may speak for this host, and the
        // answering address is learnt (when learning) only if it answered a probe.
        guard packet.mayBeHostAnswer, localAddresses.mayAcceptAnswer(from: packet.source) else { return }
        guard let probe = takeHeldProbe(key).map({ PendingProbe($0.record, firstSeenNanos: $0.firstSeenNanos) }) ?? pending.remove(key)
        else {
            // A RST without ACK answers a segment with ACK: no probe we hold, perhaps one we
            // never see (an ACK, Maimon or window scan's).
            if !segment.flags.contains(.ack) { unfiltered(key, timeNanos: timeNanos, clockNanos: clockNanos, emit: emit) }
            return
        }
        localAddresses.accept(answerFrom: packet.source)
        if isOverdue(probe) { return unanswered(probe, emit: emit) }
        defer { options.release(probe.options) }
        guard !isLateConnectionPacket(remote: key.remote, localPort: key.localPort) else { return }
        report(.closed, probe, emit: emit)
    }

    private mutating func portUnreachable(_ packet: DecodedPacket, _ unreachable: ICMPUnreachable, timeNanos: UInt64,
                                          clockNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        // The quoted probe must have been sent to this host: else one forged error is one fake event.
        guard packet.mayBeHostAnswer, unreachable.isPortUnreachable, let quoted = unreachable.quoted,
              quoted.protocolNumber == IPProtocolNumber.udp, let remotePort = quoted.sourcePort, let localPort = quoted.destinationPort,
              !localAddresses.contains(quoted.source), localAddresses.mayAcceptAnswer(from: packet.source),
              quoted.destination == packet.source || localAddresses.contains(quoted.destination) else { return }
        localAddresses.accept(answerFrom: packet.source)
        probeCounters.probes &+= 1
        let event = UnwantedEvent(timeNanos: timeNanos, interface: interfaceName, proto: .udp, source: quoted.source,
                                  sourcePort: remotePort, destination: quoted.destination, destinationPort: localPort,
                                  verdict: .closed, packets: 1, ttl: quoted.ttl)
        probeCounters.count(.closed)
        emit(event)
        scans?.recordFailure(source: quoted.source, destination: quoted.destination, port: localPort, proto: .udp,
                             timeNanos: timeNanos, clockNanos: clockNanos, emit: emit)
    }

    /// The host's RST without ACK, which no pending probe explains: `unfiltered`, unless it
    /// is the host's own connection's (`UnfilteredAnswers`) or answers backscatter.
    private mutating func unfiltered(_ key: ProbeKey, timeNanos: UInt64, clockNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        // Only from an address known to be local: a RST never teaches one.
        guard localAddresses.contains(key.local), !localAddresses.contains(key.remote),
              UnfilteredAnswers.mayAnswerProbe(localPort: key.localPort),
              !isLateConnectionPacket(remote: key.remote, localPort: key.localPort),
              !backscatterVictims.isCounting(victim: key.remote) else { return }
        probeCounters.probes &+= 1
        probeCounters.count(.unfiltered)
        emit(UnwantedEvent(timeNanos: timeNanos, interface: interfaceName, proto: .tcp, source: key.remote, sourcePort: key.remotePort,
                           destination: key.local, destinationPort: key.localPort, verdict: .unfiltered, packets: 1))
        scans?.recordFailure(source: key.remote, destination: key.local, port: key.localPort, proto: .tcp,
                             timeNanos: timeNanos, clockNanos: clockNanos, emit: emit)
    }
}
