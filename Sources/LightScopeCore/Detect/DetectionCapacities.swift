/// How many entries each detection table may hold, derived from the memory budget and the
/// tables' real sizes (indexes, full rings of dead and live records, scan targets), so
/// that the worst case (every table full, every scan source at its target cap) stays within
/// `memoryBudgetMiB`.
public struct DetectionCapacities: Equatable, Sendable {
    public var pendingProbes: Int
    public var recentConnections: Int
    public var scanSources: Int

    /// Shares of what the budget leaves after the fragment reassembler's share: pending
    /// probes carry the flood, scan sources the scanners.
    /// Counted at their worst case (every ring full), the pending share holds 106,700 probes
    /// at the default 64 MiB, more than the 98,000 a half share held in hash slots before the
    /// tables kept their entries in rings. A flood fills its share to the last page; a
    /// scan source's share is counted with every source at its target cap, which real
    /// scanners seldom reach, so the sources get the larger share.
    static let pendingShare = 0.40
    static let connectionShare = 0.15
    static let sourceShare = 0.45

    public init(pendingProbes: Int, recentConnections: Int, scanSources: Int) {
        self.pendingProbes = pendingProbes
        self.recentConnections = recentConnections
        self.scanSources = scanSources
    }

    public init(settings: Settings.Detection) {
        // The fragment reassembler's share is set aside first (`FragmentReassembler.budgetShare`).
        let budget = Double(settings.memoryBudgetMiB) * 1_048_576 * (1 - FragmentReassembler.budgetShare)
        let targetsPerSource = ScanTracker.maximumTargets(portscanPorts: settings.portscanPorts,
                                                          addrscanAddresses: settings.addrscanAddresses)
        pendingProbes = max(16, DetectionEngine.PendingTable.capacity(fittingIn: Int(budget * Self.pendingShare)))
        recentConnections = max(16, DetectionEngine.ConnectionTable.capacity(fittingIn: Int(budget * Self.connectionShare)))
        scanSources = max(16, ScanTracker.capacity(fittingIn: Int(budget * Self.sourceShare), targetsPerSource: targetsPerSource))
    }
}
