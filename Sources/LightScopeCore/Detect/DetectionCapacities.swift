/// How many entries each detection table may hold, derived from the memory budget and the
/// tables' real sizes (indexes, full rings of dead and live records, scan targets), so
/// that the worst case (every table full, every scan source at its target cap) stays within
/// `memoryBudgetMiB`.
public struct DetectionCapacities: Equatable, Sendable {
    public var pendingProbes: Int
    public var recentConnections: Int
    public var scanSources: Int

    /// Shares of the budget: pending probes carry the flood, scan sources the scanners.
    /// Counted at their worst case (every ring full), the pending share holds 110,000 probes
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
        let budget = Double(settings.memoryBudgetMiB) * 1_048_576
        let targetsPerSource = ScanTracker.maximumTargets(portscanPorts: settings.portscanPorts,
                                                          addrscanAddresses: settings.addrscanAddresses)
        pendingProbes = max(Self.minimumEntries, DetectionEngine.PendingTable.capacity(fittingIn: Int(budget * Self.pendingShare)))
        recentConnections = max(Self.minimumEntries, DetectionEngine.ConnectionTable.capacity(fittingIn: Int(budget * Self.connectionShare)))
        scanSources = max(Self.minimumEntries, ScanTracker.capacity(fittingIn: Int(budget * Self.sourceShare), targetsPerSource: targetsPerSource))
    }

    /// The fewest entries a table is built with, whatever the budget.
    static let minimumEntries = 16

    /// Why these settings break the budget, and the key to blame, or nil. Each scanning source keeps up to
    /// `ScanTracker.maximumTargets` targets, so high scan thresholds make every source
    /// costly, and the `minimumEntries` sources the tracker is always built with would then
    /// need more than the budget's share: the config is rejected, naming the settings that fit.
    public static func budgetProblem(_ settings: Settings.Detection) -> (key: String, problem: String)? {
        let share = Double(settings.memoryBudgetMiB) * 1_048_576 * sourceShare
        func fits(threshold: Int) -> Bool {
            let targets = ScanTracker.maximumTargets(portscanPorts: min(settings.portscanPorts, threshold),
                                                     addrscanAddresses: min(settings.addrscanAddresses, threshold))
            return Double(ScanTracker.bytes(sources: minimumEntries, targetsPerSource: targets)) <= share
        }
        let threshold = max(settings.portscanPorts, settings.addrscanAddresses)
        guard !fits(threshold: threshold) else { return nil }
        let targets = ScanTracker.maximumTargets(portscanPorts: settings.portscanPorts, addrscanAddresses: settings.addrscanAddresses)
        let worstBytes = Double(ScanTracker.bytes(sources: minimumEntries, targetsPerSource: targets))
        let neededMiB = Int((worstBytes / sourceShare / 1_048_576).rounded(.up))
        // The largest threshold that fits: fits(threshold:) only turns false as it grows.
        var low = 1, high = threshold
        while high - low > 1 {
            let middle = (low + high) / 2
            if fits(threshold: middle) { low = middle } else { high = middle }
        }
        let key = settings.addrscanAddresses >= settings.portscanPorts ? "addrscan_addresses" : "portscan_ports"
        return (key, "\(key) = \(threshold) lets each scanning source keep up to \(targets) targets, and the \(minimumEntries) sources "
            + "detection always tracks would then need \(neededMiB) MiB, more than memory_budget_mib = \(settings.memoryBudgetMiB) allows; "
            + "lower \(key) to at most \(low), or raise memory_budget_mib to at least \(neededMiB)")
    }
}
