/// The tables detection keeps, each with its share of `memory_budget_mib`.
public enum DetectionTable: String, CaseIterable, Sendable {
    case pendingProbes
    case recentConnections
    case scanSources
    case scanTargets
    case tcpOptions
    case fragments
    case outboundFlows
    case backscatterVictims
    case slowScanSources

    /// The table's share of the budget: one line per table, and a new table adds its own.
    /// At the default 64 MiB the shares give an IPv4 flood 1,000,000 pending probes and
    /// 250,000 scan sources together, and 8,500 slow-scan sources (docs/capacity.md has the sizes).
    public var share: Double {
        switch self {
        case .pendingProbes: 0.649
        case .recentConnections: 0.055
        case .scanSources: 0.189
        case .scanTargets: 0.04
        case .tcpOptions: 0.01
        case .fragments: 1.0 / 32 // the reassembly of fragmented probes (`FragmentReassembler`)
        case .outboundFlows: 0.01 // the host's own SYNs and datagrams (`OutboundFlows`)
        case .backscatterVictims: 0.003 // backscatter counted per victim (`BackscatterVictims`)
        case .slowScanSources: 0.0125 // `SlowScanTracker`
        }
    }
}

/// `memory_budget_mib` as byte pools, one per `DetectionTable`: the one budget that every
/// engine of the daemon draws on, whatever the interface or packet loop.
///
/// An engine's tables start small and grow by doubling while their pool has room, so a loop
/// under a flood takes what the quiet ones leave; a table past the flood shrinks again and
/// gives its memory back. Nothing is locked per packet: a pool is an atomic counter that
/// a table touches only when it grows or shrinks.
public final class DetectionBudget: Sendable {
    public let memoryBudgetMiB: Int
    /// The most each table may hold, had it its whole share.
    public let capacities: DetectionCapacities
    private let pools: [TableBytePool]

    /// Entries a table starts with, before a flood makes it grow: a quiet network's
    /// tables stay a few hundred kilobytes in all.
    public static let initialEntries = 1024
    /// Entries the IPv4 tables start with (the IPv6 ones start at `initialEntries`).
    let initialIPv4Entries: Int

    /// - Parameter initialIPv4Entries: larger for a process that will fill its tables and
    ///   then end (`lightscope replay`): its tables then grow, copying themselves, less often.
    public init(settings: Settings.Detection, initialIPv4Entries: Int = DetectionBudget.initialEntries) {
        memoryBudgetMiB = settings.memoryBudgetMiB
        self.initialIPv4Entries = initialIPv4Entries
        capacities = DetectionCapacities(settings: settings)
        pools = DetectionTable.allCases.map { TableBytePool(limitBytes: DetectionCapacities.shareBytes(of: $0, settings: settings)) }
    }

    /// For capacities set by hand: pools without limits, so that the capacities bind.
    public init(capacities: DetectionCapacities) {
        memoryBudgetMiB = 0
        initialIPv4Entries = Self.initialEntries
        self.capacities = capacities
        pools = DetectionTable.allCases.map { _ in .unlimited() }
    }

    public func pool(_ table: DetectionTable) -> TableBytePool {
        pools[DetectionTable.allCases.firstIndex(of: table)!]
    }

    /// Bytes the tables hold now, all engines together.
    public var reservedBytes: Int { pools.reduce(0) { $0 + $1.reservedBytes } }
}
