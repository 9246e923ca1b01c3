import LightScopeCore

/// When the memory budget makes detection let state go (probes lost before their verdict,
/// scan sources forgotten early), says so once per episode: when it starts, with the
/// setting to raise, and when it has been quiet for `quietNanos`, with what it cost. A flood
/// that fills the tables evicts on every packet; a line per eviction would flood the journal.
struct EvictionEpisodes {
    static let quietNanos: UInt64 = 60_000_000_000
    private var active = false
    private var lastEvictionNanos: UInt64 = 0
    private var probesBefore: UInt64 = 0
    private var sourcesBefore: UInt64 = 0
    private var seenProbes: UInt64 = 0
    private var seenSources: UInt64 = 0
    /// The first probe lost in the episode, to name in the log.
    private var firstLost: LostProbe?

    /// A probe the engine let go.
    mutating func lost(_ probe: LostProbe) {
        if firstLost == nil { firstLost = probe }
    }

    /// The engine's state at a wake-up: the line to log, if an episode starts or ends.
    mutating func check(_ state: DetectionState, monotonicNanos: UInt64, interface: String, budgetMiB: Int) -> (LogLevel, String)? {
        let evicting = state.probeEvictions != seenProbes || state.scanSourceEvictions != seenSources
        defer {
            seenProbes = state.probeEvictions
            seenSources = state.scanSourceEvictions
        }
        if evicting {
            lastEvictionNanos = monotonicNanos
            guard !active else { return nil }
            active = true
            probesBefore = seenProbes
            sourcesBefore = seenSources
            var what = "\(state.probeEvictions - seenProbes) probes lost before their verdict"
            if let firstLost { what += " (the first from \(firstLost.source) to port \(firstLost.destinationPort))" }
            return (.warning, "\(interface): the detection tables are full (\(state.pendingProbes) pending probes, \(state.scanSources) scan sources): \(what), \(state.scanSourceEvictions - seenSources) scan sources forgotten early; counted as lost until it ends. Raise memory_budget_mib (now \(budgetMiB)) if this is not a flood")
        }
        guard active, monotonicNanos &- lastEvictionNanos >= Self.quietNanos else { return nil }
        active = false
        firstLost = nil
        return (.notice, "\(interface): the detection tables have room again; that episode lost \(state.probeEvictions - probesBefore) probes and forgot \(state.scanSourceEvictions - sourcesBefore) scan sources")
    }
}
