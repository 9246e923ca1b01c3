/// Sizes of the detection tables right now, and what the memory budget pushed out of them.
public struct DetectionState: Equatable, Sendable {
    public var pendingProbes: Int
    public var recentConnections: Int
    public var scanSources: Int
    /// Probes pushed out of a full pending-probe table: lost events (each handed to the
    /// caller as a `LostProbe`).
    public var probeEvictions: UInt64
    /// Scan sources pushed out of a full scan table: lost scan state, not events.
    public var scanSourceEvictions: UInt64
    /// Sources whose slow scans are counted (`SlowScanTracker`), and those pushed out of its
    /// full table: lost slow-scan state, not events.
    public var slowScanSources = 0
    public var slowScanEvictions: UInt64 = 0
    /// Connections pushed out early: a late packet of one may then be judged unwanted.
    public var connectionEvictions: UInt64
    /// Flows of the host's own pushed out before `grace`: a late answer to one may then be
    /// counted as backscatter (`OutboundFlows`). Not in `evictions`: the host's RSTs are
    /// flows too, so a flood of closed-port probes churns this table without any budget
    /// being short.
    public var outboundFlowEvictions: UInt64
    /// Backscatter victims reported before their minute ended, for want of room: no answer
    /// is lost, but one victim's minute may then be two events.
    public var backscatterVictimEvictions: UInt64
    /// Probes whose TCP options found no room (`TCPOptionsTable`): their events' fingerprint is `?`.
    public var optionsNotKept: UInt64
    /// Memory the engine's tables hold now, in bytes.
    public var tableBytes: Int

    /// Every eviction, of any table.
    public var evictions: UInt64 {
        probeEvictions &+ scanSourceEvictions &+ connectionEvictions &+ slowScanEvictions &+ backscatterVictimEvictions
    }
}

/// A probe the engine let go before its verdict was known (its table was full): a lost
/// event, with what is known of it.
public struct LostProbe: Equatable, Sendable {
    /// The capture time of its first SYN.
    public var timeNanos: UInt64
    public var source: IPAddress
    public var sourcePort: UInt16
    public var destination: IPAddress
    public var destinationPort: UInt16
    public var packets: UInt32
}

public struct DetectionCounters: Equatable, Sendable {
    /// Inbound connection attempts to local addresses (TCP SYNs, UDP probes seen through ICMP).
    public var probes: UInt64 = 0
    private var eventCounts = VerdictCounts()

    mutating func count(_ verdict: Verdict) { eventCounts.count(verdict) }

    /// Both counts together.
    func adding(_ other: DetectionCounters) -> DetectionCounters {
        var sum = self
        sum.probes &+= other.probes
        sum.eventCounts.add(other.eventCounts)
        return sum
    }

    /// The verdicts seen so far, with their counts.
    public var eventsByVerdict: [Verdict: UInt64] {
        eventCounts.nonZero
    }

    public var events: UInt64 { eventCounts.total }
}
