/// Per-source scan counting, in the spirit of Zeek's scan policy: failed connection
/// attempts (closed or unanswered probes) are counted per source in a window; many ports
/// on one host is a port scan, one port on many local addresses an address scan.
/// Each is reported once per source per window, with its count.
///
/// Windows are tumbling, starting at a source's first failed attempt (Zeek's SumStats
/// epochs work the same way). Counting is exact: a source keeps every distinct (address,
/// port) target of its window, up to `maximumTargetsPerSource`, enough to cross either
/// threshold. Memory is bounded: a source is a fixed-size record (32 bytes for IPv4, 56
/// otherwise) in a table with a capacity, its first target in the record and the rest in
/// blocks from a shared pool (`ScanTargets`). When either is full, the oldest source is
/// evicted whole and counted; no source is ever kept with part of its targets.
public struct ScanTracker {
    /// The thresholds and window, as `limits` holds them (their one home).
    public var portscanPorts: Int { limits.portscanPorts }
    public var addrscanAddresses: Int { limits.addrscanAddresses }
    public var windowNanos: UInt64 { limits.windowNanos }
    public var portWeighting: PortWeighting { limits.portWeighting }
    /// The scans this tracker reports (`ScanDetector` runs one per window length).
    var kinds: ScanKinds { limits.kinds }
    private var ipv4: ExpiringTable<IPv4SourceRecord>
    /// No first attempt crosses a threshold (each of one target weighs less than either):
    /// then a new source's record is made as its first attempt leaves it, without counting.
    let firstAttemptCrossesNothing: Bool
    private var wide: ExpiringTable<WideSourceRecord>
    private let targets: ScanTargets
    /// The thresholds, made once (over `targets`).
    private let limits: ScanLimits

    /// Distinct targets kept per source: enough to cross either threshold, and a bound
    /// on what one scanner costs.
    public var maximumTargetsPerSource: Int {
        Self.maximumTargets(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses)
    }

    public static func maximumTargets(portscanPorts: Int, addrscanAddresses: Int) -> Int {
        min(2 * max(portscanPorts, addrscanAddresses), Int(UInt16.max))
    }

    public struct Crossing: Equatable, Sendable {
        public var verdict: Verdict
        public var source: IPAddress
        /// The probed host (portscan) or nil (addrscan).
        public var destination: IPAddress?
        /// The probed port (addrscan) or nil (portscan).
        public var destinationPort: UInt16?
        public var count: Int
        /// Failed attempts from this source in the window so far.
        public var attempts: UInt32
    }

    struct Target: Hashable {
        var address: IPAddress
        var port: UInt16
    }

    /// A tracker of both scans with a capacity of its own, outside any budget.
    public init(portscanPorts: Int, addrscanAddresses: Int, window: Duration, capacity: Int, portWeighting: PortWeighting = .uniform) {
        self.init(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses, window: window, kinds: .both,
                  portWeighting: portWeighting, seed: .random(),
                  capacities: DetectionCapacities(pendingProbes: 16, recentConnections: 16, scanSources: capacity),
                  budget: DetectionBudget(capacities: DetectionCapacities(pendingProbes: 16, recentConnections: 16, scanSources: capacity)))
    }

    /// `seed`: its tables' hash secret, shared with the other scan tables of its detector
    /// (`sourceHash`).
    init(portscanPorts: Int, addrscanAddresses: Int, window: Duration, kinds: ScanKinds, portWeighting: PortWeighting = .uniform,
         seed: FastHashSeed, capacities: DetectionCapacities, budget: DetectionBudget) {
        let windowNanos = UInt64(window.nanoseconds)
        let heaviestPort = max(portWeighting.weight(of: 0), portWeighting.weight(of: .max))
        firstAttemptCrossesNothing = (!kinds.contains(.portscan) || heaviestPort < portscanPorts)
            && (!kinds.contains(.addrscan) || 1 < addrscanAddresses)
            && Self.maximumTargets(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses) > 0
        let pool = budget.pool(.scanSources)
        // The IPv6 table first: a larger first size of the IPv4 one takes what it leaves.
        wide = ExpiringTable(maximumCapacity: capacities.ipv6ScanSources, initialCapacity: DetectionBudget.initialEntries, pool: pool,
                             seed: seed)
        // The first size every process gives it, replay too (not `initialIPv4Entries`): it shares
        // its pool with the wide table and the first failures' (`FirstFailureTier`), and what
        // each holds when the pool is full must not hang on where they started.
        ipv4 = ExpiringTable(maximumCapacity: capacities.scanSources, initialCapacity: DetectionBudget.initialEntries, pool: pool,
                             seed: seed)
        targets = ScanTargets(blocks: BlockPool(maximumBlocks: capacities.scanTargetBlocks,
                                                initialBlocks: DetectionBudget.initialEntries, pool: budget.pool(.scanTargets)))
        limits = ScanLimits(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses, windowNanos: windowNanos,
                            maximumTargets: Self.maximumTargets(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses),
                            kinds: kinds, portWeighting: portWeighting, targets: targets)
    }

    public var trackedSources: Int { ipv4.count + wide.count }
    /// Sources pushed out by a full table or a full target pool: scan state lost.
    public var evictions: UInt64 { ipv4.evictions &+ wide.evictions }
    /// The memory its tables and target blocks hold now.
    var reservedBytes: Int { ipv4.reservedBytes + wide.reservedBytes + targets.blocks.reservedBytes }

    /// `source`'s hash in both tables (an IPv4 source's `IPv4Key` hashes as its address), and
    /// in every table made with the same seed.
    @inline(__always)
    func sourceHash(_ source: IPAddress) -> UInt64 { wide.hash(of: source) }

    /// Whether the IPv4 source `address` (whose `sourceHash` is `hash`) has a record in the
    /// IPv4 table.
    @inline(__always)
    func holdsIPv4(_ address: UInt32, hash: UInt64) -> Bool { ipv4.contains(IPv4Key(value: address), hash: hash) }

    /// Whether every IPv4 source is in the IPv4 table (none moved to the wide one): then one
    /// absent from it is unknown here.
    var keepsIPv4SourcesApart: Bool { targets.ipv4SourcesInWideTable == 0 }

    /// When the window of the IPv4 source `address` in the IPv4 table started, if it is there.
    func windowStartNanos(ofIPv4 address: UInt32) -> UInt64? { ipv4.touchedNanos(of: IPv4Key(value: address)) }

    /// Forgets the IPv4 source `address` if its window still starts at `windowStartNanos`:
    /// a record written late by a first failure's promotion (`ReplayedFirstFailures`).
    mutating func forgetReplayed(ipv4 address: UInt32, windowStartNanos: UInt64) {
        let key = IPv4Key(value: address)
        guard self.windowStartNanos(ofIPv4: address) == windowStartNanos, let removed = ipv4.remove(key) else { return }
        if removed.record.spill != 0 { targets.release(removed.record.spill) }
    }

    /// Starts loading the entry of `source`, whose `sourceHash` is `hash` (see `ExpiringTable.prefetch`).
    @inline(__always)
    func prefetch(source: IPAddress, hash: UInt64) {
        if source.isIPv4 { ipv4.prefetch(hash: hash) } else { wide.prefetch(hash: hash) }
    }

    /// Counts one failed attempt; hands `crossed` the scans it made cross a threshold, the
    /// port scan's first.
    public mutating func record(source: IPAddress, destination: IPAddress, port: UInt16, nowNanos: UInt64,
                                _ crossed: (Crossing) -> Void) {
        var hash: UInt64 = 0
        return count(source: source, destination: destination, port: port, nowNanos: nowNanos, sourceHash: &hash)
            .forEachCrossing(source: source, Target(address: destination, port: port), crossed)
    }

    /// Counts one failed attempt; returns the scans it made cross a threshold. Inlined into
    /// `ScanDetector.recordFailure`: an IPv4 source at an IPv4 target whose IPv4 table holds
    /// every IPv4 source (all of a flood's) takes that table's path straight away. Sets
    /// `sourceHash` to `sourceHash(source)`, made where the IPv4 path needs it, for the other
    /// scan tables of the detector (they share the seed).
    @inline(__always)
    mutating func count(source: IPAddress, destination: IPAddress, port: UInt16, nowNanos: UInt64,
                        sourceHash: inout UInt64) -> ScanCount {
        if source.isIPv4 && destination.isIPv4 && targets.ipv4SourcesInWideTable == 0 {
            let address = UInt32(truncatingIfNeeded: source.low)
            sourceHash = ipv4.hash(of: IPv4Key(value: address))
            let counted = recordIPv4(source: address, hash: sourceHash, Target(address: destination, port: port),
                                     nowNanos: nowNanos)
            if counted.outcome != .needsBlock { return counted }
            // Changed nothing: the general path counts it again, once a source gave its blocks back.
        } else {
            sourceHash = self.sourceHash(source)
        }
        return countAnyFamily(source: source, destination: destination, port: port, nowNanos: nowNanos)
    }

    /// `count` for any source and target, and after a count that found no target block.
    @inline(never)
    private mutating func countAnyFamily(source: IPAddress, destination: IPAddress, port: UInt16, nowNanos: UInt64) -> ScanCount {
        let target = Target(address: destination, port: port)
        while true {
            let counted: ScanCount
            if source.isIPv4 && destination.isIPv4
                && (targets.ipv4SourcesInWideTable == 0 || !wide.contains(source)) {
                counted = recordIPv4(source: UInt32(truncatingIfNeeded: source.low), hash: sourceHash(source), target,
                                     nowNanos: nowNanos)
            } else if source.isIPv4 && !moveToWideTable(source) {
                counted = ScanCount(outcome: .needsBlock)
            } else {
                counted = recordWide(source: source, target, nowNanos: nowNanos)
            }
            // Out of target blocks: the oldest source gives its back, and the attempt is
            // counted again (as it was, unless the oldest source was this one).
            guard counted.outcome == .needsBlock else { return counted }
            guard evictOldestSource() else { return counted }
        }
    }

    @inline(__always)
    private mutating func recordIPv4(source address: UInt32, hash: UInt64, _ target: Target, nowNanos: UInt64) -> ScanCount {
        unowned(unsafe) let targets = targets
        var counted = ScanCount(outcome: .counted)
        // Most sources under a flood fail once: their record is made as counting its first
        // attempt in a fresh window would leave it (`firstAttempt`), with no count to run.
        let firstAttemptOnly = firstAttemptCrossesNothing
        unowned(unsafe) let limits = limits
        // One call for each kind of new record (as in `SlowScanTracker.count`): through one,
        // the two kinds met in one set of values kept on the stack over the eviction, and a
        // flood's new source's record was copied from there instead of written as made.
        if firstAttemptOnly {
            var made = false
            ipv4.insertOrModify(IPv4Key(value: address), hash: hash, nowNanos: nowNanos, refresh: false, make: {
                made = true
                return IPv4SourceRecord(source: address, SourceActivity.firstAttempt(at: target))
            }) { record, windowStart in
                if !made { counted = Self.count(target, into: &record, windowStartNanos: windowStart, nowNanos: nowNanos, limits) }
            } evicted: { record, _ in
                // A source with no target blocks (every one-off source of a flood) leaves
                // `targets` untouched: its use here retained and released it on every eviction.
                if record.spill != 0 { targets.release(record.spill) }
            }
            // A first attempt's record, made as counted: nothing crossed, no window restarted
            // (returned as such, not read back from where the change would have left it).
            if made { return ScanCount(outcome: .counted) }
        } else {
            ipv4.insertOrModify(IPv4Key(value: address), hash: hash, nowNanos: nowNanos, refresh: false,
                                make: { IPv4SourceRecord(source: address, SourceActivity()) }) { record, windowStart in
                counted = Self.count(target, into: &record, windowStartNanos: windowStart, nowNanos: nowNanos, limits)
            } evicted: { record, _ in
                if record.spill != 0 { targets.release(record.spill) }
            }
        }
        // A source's entry ages from the start of its window, not from its last attempt: a
        // window is over `windowNanos` after it started whatever came since, so only a new
        // window moves the entry to the young end (one ring record per source and window).
        if counted.outcome == .restarted { ipv4.modify(IPv4Key(value: address), nowNanos: nowNanos, refresh: true) { _, _ in } }
        return counted
    }

    /// Counts an attempt at `target` into an IPv4 source's record (unchanged if it found no
    /// target block).
    @inline(__always)
    private static func count(_ target: Target, into record: inout IPv4SourceRecord, windowStartNanos: UInt64,
                              nowNanos: UInt64, _ limits: ScanLimits) -> ScanCount {
        var activity = record.activity
        let counted = limits.count(&activity, windowStartNanos: windowStartNanos, target, wide: false, nowNanos: nowNanos)
        if counted.outcome != .needsBlock { record = IPv4SourceRecord(source: record.source, activity) }
        return counted
    }

    private mutating func recordWide(source: IPAddress, _ target: Target, nowNanos: UInt64) -> ScanCount {
        unowned(unsafe) let targets = targets
        var counted = ScanCount(outcome: .counted)
        unowned(unsafe) let limits = limits
        let inserted = wide.insertOrModify(source, nowNanos: nowNanos, make: { WideSourceRecord(source: source, SourceActivity()) }) {
            record, windowStart in
            var activity = record.activity
            counted = limits.count(&activity, windowStartNanos: windowStart, target, wide: true, nowNanos: nowNanos)
            if counted.outcome != .needsBlock { record = WideSourceRecord(source: source, activity) }
        } evicted: { record, _ in
            Self.release(record, targets)
        }
        if inserted && source.isIPv4 { targets.ipv4SourcesInWideTable += 1 }
        if counted.outcome == .restarted { wide.modify(source, nowNanos: nowNanos, refresh: true) { _, _ in } }
        return counted
    }

    /// An IPv4 source about to count a target of another family moves, with its window,
    /// to the wide table; false, moving nothing, if its targets find no blocks there.
    private mutating func moveToWideTable(_ source: IPAddress) -> Bool {
        let key = IPv4Key(value: UInt32(truncatingIfNeeded: source.low))
        guard let record = ipv4[key], let windowStart = ipv4.touchedNanos(of: key) else { return true }
        var activity = record.activity
        guard let spill = activity.spill == 0 ? 0 : targets.widened(activity) else { return false }
        ipv4.remove(key)
        targets.release(activity.spill)
        activity.spill = spill
        let targets = targets
        wide.insertOrModify(source, nowNanos: windowStart, make: { WideSourceRecord(source: source, activity) }, { _, _ in },
                            evicted: { record, _ in Self.release(record, targets) })
        targets.ipv4SourcesInWideTable += 1
        return true
    }

    /// Evicts the source whose window started first, of either table; false if none is left.
    private mutating func evictOldestSource() -> Bool {
        let targets = targets
        let ipv4Oldest = ipv4.oldestTouchedNanos
        if let wideOldest = wide.oldestTouchedNanos, ipv4Oldest.map({ wideOldest < $0 }) ?? true {
            return wide.evictOldest { record, _ in Self.release(record, targets) }
        }
        return ipv4.evictOldest { record, _ in targets.release(record.spill) }
    }

    /// A wide source leaving its table gives its blocks back.
    private static func release(_ record: WideSourceRecord, _ targets: ScanTargets) {
        targets.release(record.spill)
        if record.key.isIPv4 { targets.ipv4SourcesInWideTable -= 1 }
    }

    /// Forgets sources whose window is over: started more than `windowNanos` ago (the same
    /// test that starts a new window on the next attempt, so forgetting changes no verdict).
    public mutating func expire(nowNanos: UInt64) {
        guard nowNanos > windowNanos else { return }
        let targets = targets
        ipv4.expire(touchedAtOrBefore: nowNanos - windowNanos - 1) { record, _ in targets.release(record.spill) }
        wide.expire(touchedAtOrBefore: nowNanos - windowNanos - 1) { record, _ in Self.release(record, targets) }
        ipv4.shrinkIfSparse()
        wide.shrinkIfSparse()
        targets.blocks.shrinkIfUnused()
    }
}

/// Which scans a `ScanTracker` reports.
struct ScanKinds: OptionSet {
    let rawValue: UInt8
    static let portscan = ScanKinds(rawValue: 1)
    static let addrscan = ScanKinds(rawValue: 2)
    static let both: ScanKinds = [.portscan, .addrscan]
}
