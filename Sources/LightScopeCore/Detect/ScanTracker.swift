/// Per-source scan counting, in the spirit of Zeek's scan policy: failed connection
/// attempts (closed or unanswered probes) are counted per source in a window; many ports
/// on one host is a port scan, one port on many local addresses an address scan.
/// Each is reported once per source per window, with its count.
///
/// Windows are tumbling, starting at a source's first failed attempt (Zeek's SumStats
/// epochs work the same way). Memory is bounded twice: the table of sources has a capacity
/// with oldest-first eviction, and each source keeps at most `maximumTargetsPerSource`
/// distinct (address, port) pairs.
public struct ScanTracker {
    public let portscanPorts: Int
    public let addrscanAddresses: Int
    public let windowNanos: UInt64
    private var sources: ExpiringTable<IPAddress, SourceActivity>

    /// Distinct targets kept per source: enough to cross either threshold, and a bound
    /// on what one scanner costs.
    public var maximumTargetsPerSource: Int {
        Self.maximumTargets(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses)
    }

    public static func maximumTargets(portscanPorts: Int, addrscanAddresses: Int) -> Int {
        2 * max(portscanPorts, addrscanAddresses)
    }

    /// The most sources whose worst case (table, ring, and each source's targets at the
    /// cap) fits in `budget` bytes. A source's first target lives in its table entry; the
    /// rest in an array that may have grown to twice what it holds, plus its header and
    /// malloc's overhead.
    static func capacity(fittingIn budget: Int, targetsPerSource: Int) -> Int {
        ExpiringTable<IPAddress, SourceActivity>.capacity(fittingIn: budget, extraBytesPerEntry: spilledBytes(targetsPerSource))
    }

    /// The worst case of `sources` sources, each at the target cap.
    static func bytes(sources: Int, targetsPerSource: Int) -> Int {
        ExpiringTable<IPAddress, SourceActivity>.bytes(capacity: sources, extraBytesPerEntry: spilledBytes(targetsPerSource))
    }

    private static func spilledBytes(_ targetsPerSource: Int) -> Int {
        48 + 2 * MemoryLayout<Target>.stride * max(0, targetsPerSource - 1)
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

    struct SourceActivity {
        var windowStartNanos: UInt64
        var attempts: UInt32 = 0
        var reportedPortscan = false
        var reportedAddrscan = false
        /// Distinct targets in the window, in arrival order: the first inline (most sources
        /// fail once, and then cost no allocation), the rest in `more`.
        var first: Target?
        var more: [Target] = []
        /// Whether every target so far is on `first`'s host (a port scan's shape), or on
        /// `first`'s port (an address scan's): then the counts follow from `targetCount`,
        /// and only whether the target is new needs a look at the targets.
        var targetsShareHost = true
        var targetsSharePort = true
        /// A bit per target's port and per target's host (`bit(of:)`): a clear bit says no
        /// target has that port (host) without a look at the targets.
        var portBits: UInt64 = 0
        var hostBits: UInt64 = 0

        var targetCount: Int { first == nil ? 0 : 1 + more.count }

        static func bit(of port: UInt16) -> UInt64 { 1 << (UInt64(port) & 63) }
        static func bit(of host: IPAddress) -> UInt64 { 1 << ((host.low ^ host.high) & 63) }

        /// Whether a target has `port` (`host`); the bits answer most misses.
        func hasTarget(port: UInt16) -> Bool {
            guard portBits & Self.bit(of: port) != 0 else { return false }
            return first?.port == port || more.contains { $0.port == port }
        }

        func hasTarget(host: IPAddress) -> Bool {
            guard hostBits & Self.bit(of: host) != 0 else { return false }
            return first?.address == host || more.contains { $0.address == host }
        }
    }

    public init(portscanPorts: Int, addrscanAddresses: Int, window: Duration, capacity: Int) {
        self.portscanPorts = portscanPorts
        self.addrscanAddresses = addrscanAddresses
        self.windowNanos = UInt64(window.nanoseconds)
        sources = ExpiringTable(capacity: capacity)
    }

    public var trackedSources: Int { sources.count }
    public var evictions: UInt64 { sources.evictions }

    /// Starts loading `source`'s entry (see `ExpiringTable.prefetch`).
    @inline(__always)
    func prefetch(source: IPAddress) {
        sources.prefetch(source)
    }

    /// Counts one failed attempt; returns a scan that this attempt made cross a threshold.
    public mutating func record(source: IPAddress, destination: IPAddress, port: UInt16, nowNanos: UInt64,
                                _ crossed: (Crossing) -> Void) {
        // In place when the source is known, so its target set is never copied.
        let limits = Limits(portscanPorts: portscanPorts, addrscanAddresses: addrscanAddresses, windowNanos: windowNanos,
                            maximumTargets: maximumTargetsPerSource)
        // A source's entry ages from the start of its window, not from its last attempt: a
        // window is over `windowNanos` after it started whatever came since, so only a new
        // window moves the entry to the young end (one ring record per source and window,
        // not one per attempt).
        var restarted = false
        sources.insertOrModify(source, nowNanos: nowNanos, makeValue: { SourceActivity(windowStartNanos: nowNanos) }) { activity in
            restarted = limits.count(&activity, source: source, destination: destination, port: port, nowNanos: nowNanos, crossed)
        }
        if restarted { sources.modify(source, nowNanos: nowNanos, refresh: true) { _ in } }
    }

    /// The thresholds as a value apart from the table, so counting can run while the table
    /// is being modified.
    private struct Limits {
        var portscanPorts: Int
        var addrscanAddresses: Int
        var windowNanos: UInt64
        var maximumTargets: Int

        /// Counts the attempt; returns whether it started a new window.
        @discardableResult
        func count(_ activity: inout SourceActivity, source: IPAddress, destination: IPAddress, port: UInt16,
                   nowNanos: UInt64, _ crossed: (Crossing) -> Void) -> Bool {
            var restarted = false
            if nowNanos &- activity.windowStartNanos > windowNanos {
                activity = SourceActivity(windowStartNanos: nowNanos)
                restarted = true
            }
            activity.attempts &+= 1
            guard activity.targetCount < maximumTargets else { return restarted }
            // Is this target new, and how many targets share its host or its port (itself
            // included)? The scan shapes answer from the count and, mostly, the bits; any
            // other mix takes one pass over the targets.
            let target = Target(address: destination, port: port)
            var ports = 1
            var addresses = 1
            if let first = activity.first {
                if activity.targetsShareHost && first.address == destination {
                    // Every target is on this host: only this very target has this port.
                    if activity.hasTarget(port: port) { return restarted }
                    ports = activity.targetCount + 1
                } else if activity.targetsSharePort && first.port == port {
                    // Every target has this port: only this very target is on this host.
                    if activity.hasTarget(host: destination) { return restarted }
                    addresses = activity.targetCount + 1
                } else {
                    if first.address == destination {
                        if first.port == port { return restarted }
                        ports += 1
                    } else if first.port == port {
                        addresses += 1
                    }
                    for known in activity.more {
                        if known.address == destination {
                            if known.port == port { return restarted }
                            ports += 1
                        } else if known.port == port {
                            addresses += 1
                        }
                    }
                }
                activity.targetsShareHost = activity.targetsShareHost && first.address == destination
                activity.targetsSharePort = activity.targetsSharePort && first.port == port
                activity.more.append(target)
            } else {
                activity.first = target
            }
            activity.portBits |= SourceActivity.bit(of: port)
            activity.hostBits |= SourceActivity.bit(of: destination)
            if !activity.reportedPortscan {
                if ports >= portscanPorts {
                    activity.reportedPortscan = true
                    crossed(Crossing(verdict: .portscan, source: source, destination: destination, destinationPort: nil,
                                     count: ports, attempts: activity.attempts))
                }
            }
            if !activity.reportedAddrscan {
                if addresses >= addrscanAddresses {
                    activity.reportedAddrscan = true
                    crossed(Crossing(verdict: .addrscan, source: source, destination: nil, destinationPort: port,
                                     count: addresses, attempts: activity.attempts))
                }
            }
            return restarted
        }
    }

    /// Forgets sources whose window is over: started more than `windowNanos` ago (the same
    /// test that starts a new window on the next attempt, so forgetting changes no verdict).
    public mutating func expire(nowNanos: UInt64) {
        guard nowNanos > windowNanos else { return }
        sources.expire(touchedAtOrBefore: nowNanos - windowNanos - 1) { _, _ in }
    }
}
