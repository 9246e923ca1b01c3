/// The most entries each detection table may hold: what its share of `memory_budget_mib`
/// (`DetectionTable.share`) holds at worst, every record and index bucket counted, were it
/// the only table of its kind. IPv4 and IPv6 tables of a kind share one pool, so the IPv4
/// figure is what an IPv4 flood reaches, the IPv6 one what an IPv6 flood reaches, and a
/// mix lands in between.
public struct DetectionCapacities: Equatable, Sendable {
    public var pendingProbes: Int
    public var pendingIPv6Probes: Int
    public var recentConnections: Int
    public var recentIPv6Connections: Int
    public var scanSources: Int
    public var ipv6ScanSources: Int
    /// IPv4 sources whose first failure alone is held (`FirstFailureTier`), in the scan
    /// sources' pool: at most three quarters of it, so that a flood of one-off sources leaves
    /// the scanners that fail again a quarter at least.
    public var firstFailures: Int
    /// 64-byte blocks for scan targets beyond each source's first (ten IPv4 targets a block,
    /// three IPv6).
    public var scanTargetBlocks: Int
    /// Distinct TCP option sets the pending probes may refer to at once.
    public var tcpOptions: Int
    /// Fragmented datagrams being put together at once (`FragmentReassembler`).
    public var fragmentDatagrams: Int
    /// Flows the host started that it remembers for `grace`, both families (`OutboundFlows`).
    public var outboundFlows: Int
    /// Backscatter victims counted at once, both families (`BackscatterVictims`).
    public var backscatterVictims: Int
    /// Sources whose slow scans are counted at once, of either family (`SlowScanTracker`).
    public var slowScanSources: Int

    /// Capacities set by hand (tests): the same for both families, and room for every scan
    /// target and option set such tables can hold.
    public init(pendingProbes: Int, recentConnections: Int, scanSources: Int) {
        self.pendingProbes = pendingProbes
        pendingIPv6Probes = pendingProbes
        self.recentConnections = recentConnections
        recentIPv6Connections = recentConnections
        self.scanSources = scanSources
        ipv6ScanSources = scanSources
        firstFailures = scanSources
        scanTargetBlocks = 8 * scanSources
        tcpOptions = 4096
        fragmentDatagrams = FragmentReassembler.capacity(fittingIn: 2 << 20)
        outboundFlows = recentConnections
        backscatterVictims = scanSources
        slowScanSources = scanSources
    }

    public init(settings: Settings.Detection) {
        func share(_ table: DetectionTable) -> Int { Self.shareBytes(of: table, settings: settings) }
        pendingProbes = max(16, ExpiringTable<PendingIPv4Probe>.capacity(fittingIn: share(.pendingProbes)))
        pendingIPv6Probes = max(16, ExpiringTable<PendingWideProbe>.capacity(fittingIn: share(.pendingProbes)))
        recentConnections = max(16, ExpiringTable<IPv4ConnectionRecord>.capacity(fittingIn: share(.recentConnections)))
        recentIPv6Connections = max(16, ExpiringTable<WideConnectionRecord>.capacity(fittingIn: share(.recentConnections)))
        scanSources = max(16, ExpiringTable<IPv4SourceRecord>.capacity(fittingIn: share(.scanSources)))
        ipv6ScanSources = max(16, ExpiringTable<WideSourceRecord>.capacity(fittingIn: share(.scanSources)))
        firstFailures = max(16, ExpiringTable<FirstFailureRecord>.capacity(fittingIn: share(.scanSources) / 4 * 3))
        scanTargetBlocks = max(16, share(.scanTargets) / BlockPool.blockBytes)
        tcpOptions = max(16, TCPOptionsTable.capacity(fittingIn: share(.tcpOptions)))
        fragmentDatagrams = max(16, FragmentReassembler.capacity(fittingIn: share(.fragments)))
        outboundFlows = max(16, ExpiringTable<OutboundFlowRecord>.capacity(fittingIn: share(.outboundFlows)))
        backscatterVictims = max(16, ExpiringTable<BackscatterVictimRecord>.capacity(fittingIn: share(.backscatterVictims)))
        slowScanSources = max(16, ExpiringTable<SlowScanRecord>.capacity(fittingIn: share(.slowScanSources)))
    }

    /// A table's share of the budget, in bytes.
    static func shareBytes(of table: DetectionTable, settings: Settings.Detection) -> Int {
        shareBytes(of: table, budgetMiB: settings.memoryBudgetMiB)
    }

    static func shareBytes(of table: DetectionTable, budgetMiB: Int) -> Int {
        Int(Double(budgetMiB << 20) * table.share)
    }

    /// The fewest scan sources whose targets, each source at the cap, must fit in the
    /// scan-target blocks: below that, a few scanners at once would evict each other before
    /// either crossed its threshold.
    static let sourcesAtTargetCap = 16

    /// Why these settings break the budget, and the key to blame, or nil. Each scanning source keeps up to
    /// `ScanTracker.maximumTargets` targets, so high scan thresholds make every source
    /// costly: when `sourcesAtTargetCap` IPv6 sources (three targets a block, the dearer
    /// family) at the cap would need more blocks than the scan-target share holds, the config
    /// is rejected, naming the settings that fit.
    public static func budgetProblem(_ settings: Settings.Detection) -> (key: String, problem: String)? {
        let threshold = max(settings.portscanPorts, settings.addrscanAddresses)
        func blocksNeeded(threshold: Int) -> Int {
            let targets = ScanTracker.maximumTargets(portscanPorts: min(settings.portscanPorts, threshold),
                                                     addrscanAddresses: min(settings.addrscanAddresses, threshold))
            return sourcesAtTargetCap * ScanTargets.blocks(holding: targets, wide: true)
        }
        func fits(threshold: Int, budgetMiB: Int) -> Bool {
            blocksNeeded(threshold: threshold) * BlockPool.blockBytes <= shareBytes(of: .scanTargets, budgetMiB: budgetMiB)
        }
        guard !fits(threshold: threshold, budgetMiB: settings.memoryBudgetMiB) else { return nil }
        let targets = ScanTracker.maximumTargets(portscanPorts: settings.portscanPorts, addrscanAddresses: settings.addrscanAddresses)
        // The smallest budget and the largest threshold that fit: each check only turns
        // true as the budget grows, and false as the threshold grows.
        var neededMiB = settings.memoryBudgetMiB
        while !fits(threshold: threshold, budgetMiB: neededMiB) { neededMiB *= 2 }
        var (tooSmall, enough) = (neededMiB / 2, neededMiB)
        while enough - tooSmall > 1 {
            let middle = (tooSmall + enough) / 2
            if fits(threshold: threshold, budgetMiB: middle) { enough = middle } else { tooSmall = middle }
        }
        var (low, high) = (1, threshold)
        while high - low > 1 {
            let middle = (low + high) / 2
            if fits(threshold: middle, budgetMiB: settings.memoryBudgetMiB) { low = middle } else { high = middle }
        }
        let key = settings.addrscanAddresses >= settings.portscanPorts ? "addrscan_addresses" : "portscan_ports"
        return (key, "\(key) = \(threshold) lets each scanning source keep up to \(targets) targets, and \(sourcesAtTargetCap) sources "
            + "scanning at once would then need \(enough) MiB, more than memory_budget_mib = \(settings.memoryBudgetMiB) allows; "
            + "lower \(key) to at most \(low), or raise memory_budget_mib to at least \(enough)")
    }
}
