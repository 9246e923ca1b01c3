/// The probes (SYNs, and the stealth probes without SYN or ACK) waiting for an answer: IPv4 probes in a table of 28-byte records, every other
/// probe in one of 52, both drawing on the budget's share for pending probes.
///
/// Oldest first is kept across the two: a timer run's or the end's probes come out in the
/// order of their first SYN (each table is in that order already; the two are merged).
struct PendingProbes {
    /// Not private: `PendingProbes+Held` inserts held probes.
    var ipv4: ExpiringTable<PendingIPv4Probe>
    private var wide: ExpiringTable<PendingWideProbe>

    init(capacities: DetectionCapacities, budget: DetectionBudget) {
        let pool = budget.pool(.pendingProbes)
        // The IPv6 table first: a larger first size of the IPv4 one takes what it leaves.
        wide = ExpiringTable(maximumCapacity: capacities.pendingIPv6Probes,
                             initialCapacity: DetectionBudget.initialEntries, pool: pool)
        ipv4 = ExpiringTable(maximumCapacity: capacities.pendingProbes, initialCapacity: budget.initialIPv4Entries, pool: pool)
    }

    /// Empty tables of one entry, to stand in while the real ones are taken out (`DetectionCore.finish`).
    static func placeholder() -> PendingProbes {
        let tiny = DetectionCapacities(pendingProbes: 1, recentConnections: 1, scanSources: 1)
        return PendingProbes(capacities: tiny, budget: DetectionBudget(capacities: tiny))
    }

    var count: Int { ipv4.count + wide.count }
    var evictions: UInt64 { ipv4.evictions &+ wide.evictions }
    var reservedBytes: Int { ipv4.reservedBytes + wide.reservedBytes }

    /// Starts loading where `insertOrCount` or `remove` of `key` will look; `headerIsIPv4`
    /// says the packet's header was IPv4, so both addresses are (else the key is tested).
    @inline(__always)
    func prefetch(_ key: ProbeKey, headerIsIPv4: Bool) {
        // An empty table has nothing to look up (the open stream's probes are held).
        if headerIsIPv4 || key.isIPv4 { if !ipv4.isEmpty { ipv4.prefetch(IPv4ProbeKey(key)) } } else { wide.prefetch(key) }
    }

    /// A new probe, or one more packet of a pending one (a retransmitted SYN, whose probe
    /// keeps its first SYN's time and details). Returns whether it was new; a probe it
    /// pushed out of the full table goes to `evicted`. Call `movingClock` first if the time
    /// is beyond the table's range (`holdsTime`).
    @inline(__always)
    mutating func insertOrCount(_ key: ProbeKey, clockNanos: UInt64, generation: UInt8, ttl: UInt8, window: UInt16,
                                options: UInt16, tool: ScanTool, flags: TCPFlags, evicted: inout EvictedProbe?) -> Bool {
        if key.isIPv4 {
            return insertOrCountIPv4(IPv4ProbeKey(key), clockNanos: clockNanos, generation: generation, ttl: ttl, window: window,
                                     options: options, tool: tool, flags: flags, evicted: &evicted)
        }
        let mark = generation &+ 1
        return wide.insertOrModify(key, nowNanos: clockNanos, make: {
            var record = PendingWideProbe(remote: PackedAddress(key.remote), local: PackedAddress(key.local), ports: key.ports,
                                          counts: PacketsToolAndFlags(tool: tool, flags: flags), ttl: ttl, window: window, options: options)
            record.stamp.mark = mark
            return record
        }, { record, _ in record.counts.countPacket() }, evicted: { evicted = EvictedProbe($0, firstSeenNanos: $1) })
    }

    /// `insertOrCount` for a probe whose key the caller knows to be IPv4: its compact key in
    /// three words (in registers, where the full key went through memory), and no test of
    /// both addresses again.
    @inline(__always)
    mutating func insertOrCountIPv4(_ compact: IPv4ProbeKey, clockNanos: UInt64, generation: UInt8, ttl: UInt8, window: UInt16,
                                    options: UInt16, tool: ScanTool, flags: TCPFlags, evicted: inout EvictedProbe?) -> Bool {
        let mark = generation &+ 1
        return ipv4.insertOrModify(compact, nowNanos: clockNanos, make: {
            var record = PendingIPv4Probe(remote: compact.remote, local: compact.local, ports: compact.ports,
                                          counts: PacketsToolAndFlags(tool: tool, flags: flags), ttl: ttl, window: window,
                                          options: options)
            record.stamp.mark = mark
            return record
        }, { record, _ in record.counts.countPacket() }, evicted: { evicted = EvictedProbe($0, firstSeenNanos: $1) })
    }

    /// Whether the table for a probe of this family can stamp a time as it is.
    @inline(__always)
    func holdsTime(_ nanos: UInt64, isIPv4: Bool) -> Bool {
        isIPv4 ? ipv4.holdsTime(nanos) : wide.holdsTime(nanos)
    }

    /// Before an insert at a time the table cannot hold as it is (the capture's times jumped
    /// by days): the probes that moving the table's clock pushes out, so that the insert
    /// itself evicts one probe at most.
    mutating func movingClock(toInclude nanos: UInt64, isIPv4: Bool) -> [PendingProbe] {
        var evicted: [PendingProbe] = []
        if isIPv4 {
            ipv4.moveClock(toInclude: nanos) { evicted.append(PendingProbe($0, firstSeenNanos: $1)) }
        } else {
            wide.moveClock(toInclude: nanos) { evicted.append(PendingProbe($0, firstSeenNanos: $1)) }
        }
        return evicted
    }

    /// Takes out the probe an answer answers, if pending.
    @inline(__always)
    mutating func remove(_ key: ProbeKey) -> PendingProbe? {
        if key.isIPv4 {
            return ipv4.remove(IPv4ProbeKey(key)).map { PendingProbe($0.record, firstSeenNanos: $0.touchedNanos) }
        }
        return wide.remove(key).map { PendingProbe($0.record, firstSeenNanos: $0.touchedNanos) }
    }

    /// `remove` for a SYN-ACK, which ends its probe: only the probe's options (to release)
    /// unless `isOverdue(firstSeenNanos)`, when the whole probe is still to be judged. Making
    /// every answered probe whole (its key, tool and counts) was work thrown away.
    @inline(__always)
    mutating func removeAnswered(_ key: ProbeKey, isOverdue: (UInt64) -> Bool) -> AnsweredProbe? {
        if key.isIPv4 {
            guard let (record, touched) = ipv4.remove(IPv4ProbeKey(key)) else { return nil }
            return isOverdue(touched) ? .overdue(PendingProbe(record, firstSeenNanos: touched)) : .answered(options: record.options)
        }
        guard let (record, touched) = wide.remove(key) else { return nil }
        return isOverdue(touched) ? .overdue(PendingProbe(record, firstSeenNanos: touched)) : .answered(options: record.options)
    }

    /// What `removeAnswered` took out.
    enum AnsweredProbe {
        /// Answered in time: its options' id, to release.
        case answered(options: UInt16)
        /// Past its verdict's time already (see `DetectionCore.isOverdue`).
        case overdue(PendingProbe)
    }

    /// Takes out, oldest first, the probes first seen at or before `cutoffNanos`, `limit` at
    /// most: each goes to `each` as it comes out (an IPv4 probe alone in its table goes to
    /// `eachIPv4` as its table held it, with its first SYN's time), and `ahead` is told the
    /// key of a probe a few places on (`ExpiringTable.expire(touchedAtOrBefore:limit:ahead:_:)`).
    /// Returns how many expired.
    @inline(__always)
    mutating func expire(firstSeenAtOrBefore cutoffNanos: UInt64, limit: Int, ahead: (ProbeKey) -> Void,
                         eachIPv4: (PendingIPv4Probe, UInt64) -> Void, _ each: (PendingProbe) -> Void) -> Int {
        var left = limit
        // Probes of other families (rare), in a call of their own: the timers' run then holds
        // one verdict inlined, the IPv4 one (`eachIPv4`).
        if !wide.isEmpty { left = expireWithWide(firstSeenAtOrBefore: cutoffNanos, limit: left, ahead: ahead, each) }
        // IPv4 alone, or what is left of it once the other family ran out (if it did not, its
        // front or the IPv4 table's is past the cutoff, or `limit` is reached: none expire).
        left -= ipv4.expire(touchedAtOrBefore: cutoffNanos, limit: left, ahead: { ahead(ProbeKey($0)) }, eachIPv4)
        return limit - left
    }

    /// `expire` while the table of other families has probes: both fronts merged oldest
    /// first until either table runs out, then the other families' alone. Returns how many
    /// of `limit` are left.
    @inline(never)
    private mutating func expireWithWide(firstSeenAtOrBefore cutoffNanos: UInt64, limit: Int, ahead: (ProbeKey) -> Void,
                                         _ each: (PendingProbe) -> Void) -> Int {
        var left = limit
        // Both families pending: the older front first, one at a time (rare: no prefetching).
        while left > 0, let ipv4Oldest = ipv4.oldestTouchedNanos, let wideOldest = wide.oldestTouchedNanos {
            let oldest = min(ipv4Oldest, wideOldest)
            guard oldest <= cutoffNanos else { return left }
            if ipv4Oldest <= wideOldest {
                ipv4.expire(touchedAtOrBefore: oldest, limit: 1) { each(PendingProbe($0, firstSeenNanos: $1)) }
            } else {
                wide.expire(touchedAtOrBefore: oldest, limit: 1) { each(PendingProbe($0, firstSeenNanos: $1)) }
            }
            left -= 1
        }
        left -= wide.expire(touchedAtOrBefore: cutoffNanos, limit: left, ahead: { ahead($0.key) }) {
            each(PendingProbe($0, firstSeenNanos: $1))
        }
        return left
    }

    /// Takes out every probe, oldest first, a chunk of at most `chunkSize` at a time: each
    /// chunk goes to `report` in `chunk`, which is emptied (its storage kept) before the next.
    mutating func drain(chunkSize: Int, chunk: inout [PendingProbe], report: (inout [PendingProbe]) -> Void) {
        if wide.isEmpty || ipv4.isEmpty {
            // One table: its ring walked once, its index emptied at once.
            func flush() { if chunk.count == chunkSize { report(&chunk); chunk.removeAll(keepingCapacity: true) } }
            ipv4.drain { chunk.append(PendingProbe($0, firstSeenNanos: $1)); flush() }
            wide.drain { chunk.append(PendingProbe($0, firstSeenNanos: $1)); flush() }
        } else {
            // Both: the older front first, one at a time.
            while let ipv4Oldest = ipv4.oldestTouchedNanos, let wideOldest = wide.oldestTouchedNanos {
                if ipv4Oldest <= wideOldest {
                    ipv4.expire(touchedAtOrBefore: ipv4Oldest) { chunk.append(PendingProbe($0, firstSeenNanos: $1)) }
                } else {
                    wide.expire(touchedAtOrBefore: wideOldest) { chunk.append(PendingProbe($0, firstSeenNanos: $1)) }
                }
                if chunk.count >= chunkSize { report(&chunk); chunk.removeAll(keepingCapacity: true) }
            }
            drain(chunkSize: chunkSize, chunk: &chunk, report: report)
            return
        }
        report(&chunk)
        chunk.removeAll(keepingCapacity: true)
    }

    mutating func shrinkIfSparse() {
        ipv4.shrinkIfSparse()
        wide.shrinkIfSparse()
    }
}

/// A probe a full table pushed out, made straight into its loss: a `PendingProbe` made of the
/// record first, only for the loss to take half of it, cost a flood's full table about 35
/// instructions an eviction (every SYN once the table is full).
struct EvictedProbe {
    /// Its `timeNanos` is the first SYN's time on the timers' clock, until
    /// `DetectionCore.lose` makes it the capture time (`generation` says which).
    var loss: LostProbe
    var generation: UInt8
    /// Its options' id, to release.
    var options: UInt16

    @inline(__always)
    init(_ record: PendingIPv4Probe, firstSeenNanos: UInt64) {
        loss = LostProbe(timeNanos: firstSeenNanos, source: IPAddress(ipv4: record.remote),
                         sourcePort: UInt16(truncatingIfNeeded: record.ports >> 16), destination: IPAddress(ipv4: record.local),
                         destinationPort: UInt16(truncatingIfNeeded: record.ports), packets: record.counts.packets)
        // As `PendingProbe` has it: the record's mark less one.
        generation = record.stamp.mark &- 1
        options = record.options
    }

    @inline(__always)
    init(_ record: PendingWideProbe, firstSeenNanos: UInt64) {
        loss = LostProbe(timeNanos: firstSeenNanos, source: record.remote.address, sourcePort: UInt16(truncatingIfNeeded: record.ports >> 16),
                         destination: record.local.address, destinationPort: UInt16(truncatingIfNeeded: record.ports),
                         packets: record.counts.packets)
        generation = record.stamp.mark &- 1
        options = record.options
    }
}

extension IPv4ProbeKey {
    /// The compact key of an IPv4 probe (both addresses IPv4).
    @inline(__always)
    init(_ key: ProbeKey) {
        remote = UInt32(truncatingIfNeeded: key.remote.low)
        local = UInt32(truncatingIfNeeded: key.local.low)
        ports = key.ports
    }
}

extension ProbeKey {
    /// The full key of a pending IPv4 probe.
    @inline(__always)
    init(_ record: PendingIPv4Probe) {
        self.init(remote: IPAddress(ipv4: record.remote), remotePort: UInt16(truncatingIfNeeded: record.ports >> 16),
                  local: IPAddress(ipv4: record.local), localPort: UInt16(truncatingIfNeeded: record.ports))
    }
}
