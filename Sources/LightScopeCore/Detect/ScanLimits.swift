/// The counting of `ScanTracker`: the thresholds, as a value apart from its tables, so that
/// counting can run while a table is being changed. Made once, with the tracker (built for
/// every attempt, it cost about 15 instructions a judged probe), and a class, so that the
/// table's closures take one pointer to it, not a copy of its fields.
final class ScanLimits {
    let portscanPorts: Int
    let addrscanAddresses: Int
    let windowNanos: UInt64
    let maximumTargets: Int
    let kinds: ScanKinds
    /// What each distinct port of a host adds toward `portscanPorts`.
    let portWeighting: PortWeighting
    /// Unowned: the limits are their tracker's, which holds the targets.
    unowned(unsafe) let targets: ScanTargets

    init(portscanPorts: Int, addrscanAddresses: Int, windowNanos: UInt64, maximumTargets: Int, kinds: ScanKinds,
         portWeighting: PortWeighting, targets: ScanTargets) {
        self.portscanPorts = portscanPorts
        self.addrscanAddresses = addrscanAddresses
        self.windowNanos = windowNanos
        self.maximumTargets = maximumTargets
        self.kinds = kinds
        self.portWeighting = portWeighting
        self.targets = targets
    }

    enum Outcome {
        /// Counted in the source's window.
        case counted
        /// Counted as the first attempt of a new window.
        case restarted
        /// The target needed a block and none was left; nothing was changed.
        case needsBlock
    }

    /// Counts one failed attempt at `target` in `activity`, whose window started at
    /// `windowStartNanos`; returns the outcome with the crossings it made.
    func count(_ activity: inout SourceActivity, windowStartNanos: UInt64, _ target: ScanTracker.Target, wide: Bool,
               nowNanos: UInt64) -> ScanCount {
        var outcome = Outcome.counted
        if nowNanos &- windowStartNanos > windowNanos {
            targets.release(activity.spill)
            activity = SourceActivity()
            outcome = .restarted
        }
        guard activity.targetCount < maximumTargets else {
            activity.attempts &+= 1
            return ScanCount(outcome: outcome)
        }
        // Is this target new, and how many targets share its host or its port (itself
        // included)? The scan shapes answer from the count and, mostly, the bits; any
        // other mix takes one pass over the targets.
        var ports = 1
        var addresses = 1
        if activity.targetCount > 0 {
            var seen = false
            let sharesHost = activity.flags.contains(.targetsShareHost) && activity.firstHost == target.address
            let sharesPort = activity.flags.contains(.targetsSharePort) && activity.firstPort == target.port
            if sharesHost {
                // Every target is on this host: only this very target has this port.
                seen = hasTarget(activity, wide: wide, bit: SourceActivity.bit(of: target.port) & activity.portBits) {
                    $0.port == target.port
                }
                ports = activity.targetCount + 1
            } else if sharesPort {
                // Every target has this port: only this very target is on this host.
                seen = hasTarget(activity, wide: wide, bit: SourceActivity.bit(of: target.address) & activity.hostBits) {
                    $0.address == target.address
                }
                addresses = activity.targetCount + 1
            } else {
                func tally(_ known: ScanTracker.Target) -> Bool {
                    if known.address == target.address {
                        if known.port == target.port { seen = true }
                        ports += 1
                    } else if known.port == target.port {
                        addresses += 1
                    }
                    return !seen
                }
                if tally(ScanTracker.Target(address: activity.firstHost, port: activity.firstPort)) {
                    targets.forEachSpilled(activity, wide: wide, tally)
                }
            }
            if seen {
                activity.attempts &+= 1
                return ScanCount(outcome: outcome)
            }
            guard targets.append(target, to: &activity, wide: wide) else { return ScanCount(outcome: .needsBlock) }
            if activity.firstHost != target.address { activity.flags.remove(.targetsShareHost) }
            if activity.firstPort != target.port { activity.flags.remove(.targetsSharePort) }
            activity.targetCount += 1
        } else {
            activity.firstHost = target.address
            activity.firstPort = target.port
            activity.targetCount = 1
        }
        activity.attempts &+= 1
        activity.portBits |= SourceActivity.bit(of: target.port)
        activity.hostBits |= SourceActivity.bit(of: target.address)
        var counted = ScanCount(outcome: outcome)
        if kinds.contains(.portscan) && !activity.flags.contains(.reportedPortscan)
            && (portWeighting == .uniform ? ports : portWeight(activity, wide: wide, host: target.address)) >= portscanPorts {
            activity.flags.insert(.reportedPortscan)
            counted.crossed.insert(.portscan)
            counted.ports = UInt32(truncatingIfNeeded: ports)
        }
        if kinds.contains(.addrscan) && !activity.flags.contains(.reportedAddrscan) && addresses >= addrscanAddresses {
            activity.flags.insert(.reportedAddrscan)
            counted.crossed.insert(.addrscan)
            counted.addresses = UInt32(truncatingIfNeeded: addresses)
        }
        counted.attempts = activity.attempts
        return counted
    }

    /// The weights of the distinct ports of `host` among the targets (the new one counted):
    /// one pass over them, taken only under a weighting other than `uniform`.
    private func portWeight(_ activity: SourceActivity, wide: Bool, host: IPAddress) -> Int {
        var total = 0
        func add(_ known: ScanTracker.Target) -> Bool {
            if known.address == host { total += portWeighting.weight(of: known.port) }
            return true
        }
        _ = add(ScanTracker.Target(address: activity.firstHost, port: activity.firstPort))
        targets.forEachSpilled(activity, wide: wide, add)
        return total
    }

    /// Whether a target matches: the first, or one in the blocks; `bit` zero says none
    /// without a look.
    private func hasTarget(_ activity: SourceActivity, wide: Bool, bit: UInt16, _ matches: (ScanTracker.Target) -> Bool) -> Bool {
        guard bit != 0 else { return false }
        if matches(ScanTracker.Target(address: activity.firstHost, port: activity.firstPort)) { return true }
        var found = false
        targets.forEachSpilled(activity, wide: wide) { known in
            found = matches(known)
            return !found
        }
        return found
    }
}

/// What counting one attempt did: its outcome and the scans it made cross, with their counts
/// (both crossings of one attempt share its attempts). Small enough to come back in
/// registers: the closure each crossing was handed to before, and the two `Crossing?` its
/// caller kept for it, cost every attempt, when nearly none crosses anything.
struct ScanCount {
    var outcome: ScanLimits.Outcome
    var crossed: ScanKinds = []
    /// The distinct ports of the target's host, when the port scan crossed (at most
    /// `ScanTracker.maximumTargets`, below 2^16).
    var ports: UInt32 = 0
    /// The distinct addresses with the target's port, when the address scan crossed.
    var addresses: UInt32 = 0
    /// The source's attempts in its window, when either crossed.
    var attempts: UInt32 = 0

    /// The crossings of an attempt from `source` at `target`, the port scan's first.
    func forEachCrossing(source: IPAddress, _ target: ScanTracker.Target, _ body: (ScanTracker.Crossing) -> Void) {
        if crossed.contains(.portscan) {
            body(ScanTracker.Crossing(verdict: .portscan, source: source, destination: target.address, destinationPort: nil,
                                      count: Int(ports), attempts: attempts))
        }
        if crossed.contains(.addrscan) {
            body(ScanTracker.Crossing(verdict: .addrscan, source: source, destination: nil, destinationPort: target.port,
                                      count: Int(addresses), attempts: attempts))
        }
    }
}
