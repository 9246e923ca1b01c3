/// Verdicts: what a probe out of time is called, and its event (docs/detection.md).
extension DetectionCore {
    /// Probes out of time, oldest first (a timer's worth, or a chunk of those left at the end).
    mutating func unanswered(_ probes: [PendingProbe], emit: (UnwantedEvent) -> Void) {
        let distance = ExpiringTable<PendingIPv4Probe>.expiryPrefetchDistance
        var run = VerdictRun(mayBeLate: hasRecentConnections)
        for index in probes.indices {
            // The lookups of a probe a few places on start now (see `prefetch(_:)`).
            if index + distance < probes.count { prefetchVerdict(of: probes[index + distance].key, mayBeLate: run.mayBeLate) }
            unanswered(probes[index], run: &run, emit: emit)
        }
    }

    mutating func unanswered(_ probe: PendingProbe, emit: (UnwantedEvent) -> Void) {
        var run = VerdictRun(mayBeLate: hasRecentConnections)
        unanswered(probe, run: &run, emit: emit)
    }

    /// Whether any connection is recent: a probe could then be a late packet of one (asked
    /// once for a run of verdicts, `VerdictRun`).
    var hasRecentConnections: Bool { connections.count != 0 }

    /// `run`: what the run of verdicts this one is part of asked already (`VerdictRun`).
    @inline(__always)
    mutating func unanswered(_ probe: PendingProbe, run: inout VerdictRun, emit: (UnwantedEvent) -> Void) {
        let key = probe.key
        // A listening port that did not answer a SYN in time is busy, not closed. A stealth
        // probe's silence is how an open port answers it: reported whatever the port.
        // Learning local addresses from answers: only a destination known to be local is ours.
        let isUnanswered = !(probe.flags.contains(.syn)
                                 && (listeningTCP.contains(key.localPort) || answeredPorts.contains(key.localPort)))
            && !(run.mayBeLate && connections.contains(remote: key.remote, localPort: key.localPort))
            && run.isLocal(key.local, asking: { localAddresses.contains($0) })
        if isUnanswered { report(.unanswered, probe, emit: emit) }
        // Released after the event took its options; not in a `defer`, which was compiled
        // into a call of its own for every judged probe.
        options.release(probe.options)
    }

    /// `unanswered(_:run:emit:)` of an IPv4 probe as its table held it: the timers'
    /// run hands over the 28-byte record in registers, and the `PendingProbe` is made here,
    /// where the verdict is inlined. Inlined into the run, the verdict stayed a call whose
    /// `PendingProbe` went through the run's frame (~10 instructions a judged probe more).
    @inline(never)
    mutating func unanswered(ipv4 record: PendingIPv4Probe, firstSeenNanos: UInt64, run: inout VerdictRun,
                             emit: (UnwantedEvent) -> Void) {
        unanswered(PendingProbe(record, firstSeenNanos: firstSeenNanos), run: &run, emit: emit)
    }

    /// What the verdict of the probe `key` will look up, started a few probes early (see
    /// `prefetch(_:)`): its connection (if `mayBeLate`, `VerdictRun`) and its source's scans.
    @inline(__always)
    mutating func prefetchVerdict(of key: ProbeKey, mayBeLate: Bool) {
        if mayBeLate { connections.prefetch(remote: key.remote, localPort: key.localPort) }
        if countsScans { scans?.prefetch(source: key.remote) }
    }

    /// Inlined into the timers' run, where a flood's probes are judged by the million: called,
    /// it cost about 30 instructions a judged probe more (the event built in its frame, the
    /// core's fields reached through the call).
    @inline(__always)
    mutating func report(_ verdict: Verdict, _ probe: PendingProbe, emit: (UnwantedEvent) -> Void) {
        let key = probe.key
        let timeNanos = timeline.captureTime(ofClock: probe.firstSeenNanos, generation: probe.generation)
        probeCounters.count(verdict)
        emit(UnwantedEvent(timeNanos: timeNanos, interface: interfaceName, proto: .tcp, source: key.remote,
                           sourcePort: key.remotePort, destination: key.local, destinationPort: key.localPort,
                           verdict: verdict, packets: probe.packets, ttl: probe.ttl, tcpWindow: probe.window,
                           options: options.options(probe.options), tool: probe.tool, tcpFlags: probe.flags))
        // A failure also counts towards its source's scans, when the engine counts them.
        if countsScans {
            scans?.recordFailure(source: key.remote, destination: key.local, port: key.localPort, proto: .tcp,
                                 timeNanos: timeNanos, clockNanos: probe.firstSeenNanos, tool: probe.tool, tcpFlags: probe.flags,
                                 emit: emit)
        }
    }

    /// Whether a timer run found `probe` out of time and left it pending for want of
    /// allowance: its verdict is then `unanswered`, whatever answer comes now.
    func isOverdue(_ probe: PendingProbe) -> Bool {
        guard let overdueThroughNanos else { return false }
        return probe.firstSeenNanos <= overdueThroughNanos
    }

    func isLateConnectionPacket(remote: IPAddress, localPort: UInt16) -> Bool {
        connections.count != 0 && connections.contains(remote: remote, localPort: localPort)
    }
}
