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
    /// 64-byte blocks for scan targets beyond each source's first (ten IPv4 targets a block,
    /// three IPv6).
    public var scanTargetBlocks: Int
    /// Distinct TCP option sets the pending probes may refer to at once.
    public var tcpOptions: Int
    /// The share of the fragment reassembly table, in bytes.
    public var fragmentBytes: Int

    /// Capacities set by hand (tests): the same for both families, and room for every scan
    /// target and option set such tables can hold.
    public init(pendingProbes: Int, recentConnections: Int, scanSources: Int) {
        self.pendingProbes = pendingProbes
        pendingIPv6Probes = pendingProbes
        self.recentConnections = recentConnections
        recentIPv6Connections = recentConnections
        self.scanSources = scanSources
        ipv6ScanSources = scanSources
        scanTargetBlocks = 8 * scanSources
        tcpOptions = 4096
        fragmentBytes = 2 << 20
    }

    public init(settings: Settings.Detection) {
        func share(_ table: DetectionTable) -> Int { Self.shareBytes(of: table, settings: settings) }
        pendingProbes = max(16, ExpiringTable<PendingIPv4Probe>.capacity(fittingIn: share(.pendingProbes)))
        pendingIPv6Probes = max(16, ExpiringTable<PendingWideProbe>.capacity(fittingIn: share(.pendingProbes)))
        recentConnections = max(16, ExpiringTable<IPv4ConnectionRecord>.capacity(fittingIn: share(.recentConnections)))
        recentIPv6Connections = max(16, ExpiringTable<WideConnectionRecord>.capacity(fittingIn: share(.recentConnections)))
        scanSources = max(16, ExpiringTable<IPv4SourceRecord>.capacity(fittingIn: share(.scanSources)))
        ipv6ScanSources = max(16, ExpiringTable<WideSourceRecord>.capacity(fittingIn: share(.scanSources)))
        scanTargetBlocks = max(16, share(.scanTargets) / BlockPool.blockBytes)
        tcpOptions = max(16, TCPOptionsTable.capacity(fittingIn: share(.tcpOptions)))
        fragmentBytes = share(.fragments)
    }

    /// A table's share of the budget, in bytes.
    static func shareBytes(of table: DetectionTable, settings: Settings.Detection) -> Int {
        Int(Double(settings.memoryBudgetMiB << 20) * table.share)
    }
}
