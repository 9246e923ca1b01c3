/// How many entries each detection table may hold, derived from the memory budget and the
/// tables' real entry sizes, so that the worst case (every table full, every scan source
/// at its target cap) stays within `memoryBudgetMiB`.
public struct DetectionCapacities: Equatable, Sendable {
    public var pendingProbes: Int
    public var recentConnections: Int
    public var scanSources: Int

    /// Shares of the budget: pending probes carry the flood, scan sources the scanners.
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
        pendingProbes = max(16, Int(budget * Self.pendingShare / Double(DetectionEngine.pendingEntryBytes)))
        recentConnections = max(16, Int(budget * Self.connectionShare / Double(DetectionEngine.connectionEntryBytes)))
        scanSources = max(16, Int(budget * Self.sourceShare / Double(ScanTracker.entryBytes(targets: targetsPerSource))))
    }
}

/// Memory of one hash-table entry with its expiry-ring records: keys and values at
/// Dictionary's maximum load factor (3/4), plus two ring slots.
func tableEntryBytes<Key, Value>(key: Key.Type, value: Value.Type) -> Int {
    let entry = MemoryLayout<Key>.stride + MemoryLayout<Value>.stride + 2 * MemoryLayout<UInt64>.stride
    let ringRecord = MemoryLayout<Key>.stride + MemoryLayout<UInt64>.stride + 1
    return entry * 4 / 3 + 1 + 2 * ringRecord
}
