/// The scan half of detection: `portscan` and `addrscan` events from the failed attempts
/// (`closed` and `unanswered` events) the probe half reports, counted per source by a
/// `ScanTracker`.
///
/// It needs nothing but those events and the moments the engine's timers run (its windows
/// are forgotten then), so it can run wherever they arrive in order: inside
/// `DetectionEngine`, right after each failure (the live capture loop), or on a later
/// thread fed the engine's events and timer runs (`lightscope replay`, where the per-source
/// table is a third of the detection thread's work). Either way it gives the same events in
/// the same order: each scan event straight after the failure that crossed the threshold.
public struct ScanDetector {
    /// Counts both scans when their windows are the same length (the default), else the
    /// port scans alone, each scan then kept in a window of its own length.
    var tracker: ScanTracker
    /// The address scans, when `addrscan_window` differs from `portscan_window`.
    var addrscans: ScanTracker?
    /// Whether `addrscans` is set: asked at every failure, where `addrscans != nil` copied
    /// the optional tracker (retaining its tables) first.
    let countsAddrscansApart: Bool
    /// The slow scans, over `slowscan_window`.
    var slowscans: SlowScanTracker
    /// The IPv4 sources' first failures, apart from the scan tables until a second comes
    /// (ScanDetector+FirstFailures.swift); with what keeps the scan tables' counts exact.
    var firstFailures: FirstFailureTier
    var firstFailureClock = FirstFailureClock()
    var replayedFast: ReplayedFirstFailures
    var replayedApart: ReplayedFirstFailures
    var replayedSlow: ReplayedFirstFailures
    /// Whether the tier is used: only if no first attempt can cross a threshold (a first
    /// failure held apart must make no event), and unless a test turns it off.
    let usesFirstFailures: Bool
    private let interfaceName: InterfaceName
    /// Scan events reported, by verdict.
    public private(set) var counters = DetectionCounters()

    /// A detector drawing on `budget` (or, without one, on a budget of its own from `settings`).
    public init(interface: InterfaceName, settings: Settings.Detection, budget: DetectionBudget? = nil) {
        self.init(interface: interface, settings: settings, budget: budget, holdsFirstFailures: true)
    }

    /// `holdsFirstFailures`: false counts every failure straight into the scan tables (tests
    /// compare the two).
    init(interface: InterfaceName, settings: Settings.Detection, budget: DetectionBudget?, holdsFirstFailures: Bool) {
        let budget = budget ?? DetectionBudget(settings: settings)
        interfaceName = interface
        // One secret for every scan table, drawn for each detector: a failure hashes its
        // source once for them all (`recordFailure`, `prefetch`).
        let seed = FastHashSeed.random()
        func makeTracker(window: Duration, kinds: ScanKinds) -> ScanTracker {
            ScanTracker(portscanPorts: settings.portscanPorts, addrscanAddresses: settings.addrscanAddresses, window: window,
                        kinds: kinds, portWeighting: settings.portWeighting, seed: seed, capacities: budget.capacities, budget: budget)
        }
        slowscans = SlowScanTracker(settings: settings, capacities: budget.capacities, budget: budget, seed: seed)
        countsAddrscansApart = settings.portscanWindow != settings.addrscanWindow
        if !countsAddrscansApart {
            tracker = makeTracker(window: settings.portscanWindow, kinds: .both)
        } else {
            tracker = makeTracker(window: settings.portscanWindow, kinds: .portscan)
            addrscans = makeTracker(window: settings.addrscanWindow, kinds: .addrscan)
        }
        // A quarter of the other tables' first size, as the slow scans' (a quiet network's
        // tables stay small); the same in every process, as the fast scans' IPv4 table's.
        firstFailures = FirstFailureTier(capacity: budget.capacities.firstFailures, initialCapacity: DetectionBudget.initialEntries / 4,
                                         pool: budget.pool(.scanSources), seed: seed)
        replayedFast = ReplayedFirstFailures(tableCapacity: budget.capacities.scanSources)
        replayedApart = ReplayedFirstFailures(tableCapacity: budget.capacities.scanSources)
        replayedSlow = ReplayedFirstFailures(tableCapacity: budget.capacities.slowScanSources)
        usesFirstFailures = holdsFirstFailures && tracker.firstAttemptCrossesNothing
            && (addrscans?.firstAttemptCrossesNothing ?? true) && slowscans.firstAttemptCrossesNothing
        let windows = [tracker.windowNanos, slowscans.windowNanos] + (addrscans.map { [$0.windowNanos] } ?? [])
        firstFailureClock.shortestWindowNanos = windows.min()!
        firstFailureClock.longestWindowNanos = windows.max()!
    }

    /// Sources tracked: with two windows, a source in both counts twice (it has two entries);
    /// a source whose first failure alone is held (`FirstFailureTier`) counts once.
    public var trackedSources: Int { tracker.trackedSources + (addrscans?.trackedSources ?? 0) + firstFailures.count }
    /// Sources pushed out by the memory budget: scan state lost, not events. A first failure
    /// pushed out of its tier is one.
    public var evictions: UInt64 { tracker.evictions &+ (addrscans?.evictions ?? 0) &+ firstFailures.evictions }
    /// Sources whose slow scans are counted, and those the memory budget pushed out.
    public var slowScanSources: Int { slowscans.trackedSources }
    public var slowScanEvictions: UInt64 { slowscans.evictions }
    /// The memory its tables hold now.
    /// (`ReplayedFirstFailures`' lists are outside the budget, as docs/capacity.md says.)
    var reservedBytes: Int {
        tracker.reservedBytes + (addrscans?.reservedBytes ?? 0) + slowscans.reservedBytes + firstFailures.reservedBytes
    }

    /// Whether an event of this verdict is a failed attempt, which the scan counts take in.
    /// Inlinable: replay's tally thread asks it of every event.
    @inlinable
    public static func isFailure(_ verdict: Verdict) -> Bool {
        verdict == .closed || verdict == .unanswered || verdict == .unfiltered
    }

    /// Starts loading `source`'s entry (see `ExpiringTable.prefetch`). `mutating` though it
    /// changes nothing: called through a pointer or an optional, a non-mutating call copies
    /// the detector (retaining its tables) first.
    @inline(__always)
    public mutating func prefetch(source: IPAddress) {
        let hash = tracker.sourceHash(source)
        tracker.prefetch(source: source, hash: hash)
        if countsAddrscansApart { addrscans?.prefetch(source: source, hash: hash) }
        slowscans.prefetch(hash: hash)
        if usesFirstFailures { firstFailures.prefetch(hash: hash) }
    }

    /// Counts one failed attempt, as its `closed` or `unanswered` event has it (the event's
    /// time is the attempt's, and the windows run on it); emits the scan events it makes
    /// cross a threshold, named after the attempt's `tool` and `tcpFlags`: the probe that
    /// completed the scan.
    public mutating func recordFailure(source: IPAddress, destination: IPAddress, port: UInt16, proto: TransportProtocol,
                                       timeNanos: UInt64, tool: ScanTool = .unknown, tcpFlags: TCPFlags? = nil,
                                       emit: (UnwantedEvent) -> Void) {
        recordFailure(source: source, destination: destination, port: port, proto: proto, timeNanos: timeNanos,
                      clockNanos: timeNanos, tool: tool, tcpFlags: tcpFlags, emit: emit)
    }

    /// `recordFailure`, with the windows on the timers' clock (`clockNanos`, the attempt's
    /// time there) and the events at the attempt's capture time (`timeNanos`).
    public mutating func recordFailure(source: IPAddress, destination: IPAddress, port: UInt16, proto: TransportProtocol,
                                       timeNanos: UInt64, clockNanos: UInt64, tool: ScanTool = .unknown,
                                       tcpFlags: TCPFlags? = nil, emit: (UnwantedEvent) -> Void) {
        if usesFirstFailures && holdsFirstFailure(source: source, destination: destination, port: port, clockNanos: clockNanos) {
            return
        }
        // Crossings come back as values, and are reported once every table is counted (the
        // slow scans need to know of them); one attempt crosses at most both thresholds, the
        // port scan's first. Nearly no attempt crosses anything: the reports are apart.
        // Hashed once, by the fast scans' count: every scan table has the same seed (`init`).
        var hash: UInt64 = 0
        let fast = tracker.count(source: source, destination: destination, port: port, nowNanos: clockNanos, sourceHash: &hash)
        let apart = countsAddrscansApart ? countAddrscansApart(source: source, destination: destination, port: port,
                                                                nowNanos: clockNanos) : ScanCount(outcome: .counted)
        let scanReported = !fast.crossed.isEmpty || !apart.crossed.isEmpty
        let slowCrossed = slowscans.count(source: source, sourceHash: hash, destination: destination, port: port,
                                          nowNanos: clockNanos, scanReported: scanReported)
        guard scanReported || slowCrossed != nil else { return }
        reportCrossings(fast, apart, slowCrossed, source: source, destination: destination, port: port, proto: proto,
                        timeNanos: timeNanos, tool: tool, tcpFlags: tcpFlags, emit: emit)
    }

    /// The address scans of `addrscans`, when they have a window of their own.
    @inline(never)
    mutating func countAddrscansApart(source: IPAddress, destination: IPAddress, port: UInt16,
                                              nowNanos: UInt64) -> ScanCount {
        var hash: UInt64 = 0
        return addrscans?.count(source: source, destination: destination, port: port, nowNanos: nowNanos, sourceHash: &hash)
            ?? ScanCount(outcome: .counted)
    }

    /// The events of an attempt's crossings, in order: the fast scans', then the slow scan's.
    @inline(never)
    private mutating func reportCrossings(_ fast: ScanCount, _ apart: ScanCount, _ slowCrossed: SlowScanTracker.Crossed?,
                                          source: IPAddress, destination: IPAddress, port: UInt16, proto: TransportProtocol,
                                          timeNanos: UInt64, tool: ScanTool, tcpFlags: TCPFlags?, emit: (UnwantedEvent) -> Void) {
        let target = ScanTracker.Target(address: destination, port: port)
        func reportEach(_ crossing: ScanTracker.Crossing) {
            report(crossing, proto: proto, timeNanos: timeNanos, tool: tool, tcpFlags: tcpFlags, emit: emit)
        }
        fast.forEachCrossing(source: source, target, reportEach)
        apart.forEachCrossing(source: source, target, reportEach)
        if let slowCrossed {
            let slow = slowCrossed.crossing(source: source, destination: destination, port: port)
            counters.count(.slowscan)
            emit(UnwantedEvent(timeNanos: timeNanos, interface: interfaceName, proto: proto, source: slow.source, sourcePort: nil,
                               destination: slow.destination, destinationPort: slow.destinationPort, verdict: .slowscan,
                               packets: slow.attempts, ports: slow.ports, addresses: slow.addresses, tool: tool,
                               tcpFlags: tcpFlags))
        }
    }

    /// The engine's timers ran at `nowNanos`: windows that are over are forgotten.
    public mutating func timersRan(atNanos nowNanos: UInt64) {
        if usesFirstFailures { forgetFirstFailures(timersRanAtNanos: nowNanos) }
        tracker.expire(nowNanos: nowNanos)
        addrscans?.expire(nowNanos: nowNanos)
        slowscans.expire(nowNanos: nowNanos)
    }

    private mutating func report(_ crossing: ScanTracker.Crossing, proto: TransportProtocol, timeNanos: UInt64, tool: ScanTool,
                                 tcpFlags: TCPFlags?, emit: (UnwantedEvent) -> Void) {
        counters.count(crossing.verdict)
        emit(UnwantedEvent(timeNanos: timeNanos, interface: interfaceName, proto: proto, source: crossing.source,
                           sourcePort: nil, destination: crossing.destination, destinationPort: crossing.destinationPort,
                           verdict: crossing.verdict, packets: crossing.attempts,
                           ports: crossing.verdict == .portscan ? crossing.count : nil,
                           addresses: crossing.verdict == .addrscan ? crossing.count : nil, tool: tool,
                           tcpFlags: tcpFlags))
    }
}

/// Where `DetectionEngine` counts scans.
public enum ScanDetection: Sendable {
    /// In the engine, right after each failure: the engine's events are complete.
    case inEngine
    /// By the caller: the engine reports failures and leaves scans to a `ScanDetector` that
    /// the caller feeds the engine's events and the times its timers ran
    /// (`DetectionEngine.timersAreDue(atNanos:)` tells when), in order.
    case byCaller
}
