// The first-failure tier's part in `ScanDetector`: an IPv4 source that no scan table knows
// has its first failure held in `firstFailures` instead of counted; its second failure has
// the first counted into every scan table that would still have it (at the first one's
// time), and is then counted itself. Sources that fail once never reach the scan tables.
//
// Exact: every scan table ends a failure, and a timers' run, holding what it held counting
// every failure straight away, but for the records of sources that failed once (absent,
// and so no longer evicting others: what a full table loses changes) and for records the
// tier or a full table evicted. The tables forget records oldest first, stopping at the
// first too young, so where a record lies decides when it goes; three rules keep that:
// - a failure is held only if no failure before it came later (its record would have been
//   behind none younger) and no timers' run has passed its time by a window (its record
//   would then have gone at the next run, not the one that passed it);
// - a failure that comes earlier than some held ones (a `closed` after an `unanswered` of
//   its time) first has those counted: their records would have stood before it;
// - a record counted late, at the young end with its older time, is forgotten at the
//   first run whose cutoff reaches that time (`ReplayedFirstFailures`), as in its place.

/// What the tier needs of the timers' runs and the failures' times.
struct FirstFailureClock {
    /// The latest time of a failure so far (`clockNanos`).
    var latestFailureNanos: UInt64 = 0
    /// The last timers' run, if any.
    var lastRunNanos: UInt64?
    /// The earliest time a failure may have and be held: one the last run passed by the
    /// shortest window would have been forgotten at the next run.
    var admissionStartNanos: UInt64 = 0
    var shortestWindowNanos: UInt64 = 0
    var longestWindowNanos: UInt64 = 0

    /// Whether a table of window `windowNanos` would have forgotten a record touched at
    /// `nanos` (and left since) by now, at the last run.
    func wouldHaveForgotten(_ nanos: UInt64, windowNanos: UInt64) -> Bool {
        guard let lastRunNanos, lastRunNanos > windowNanos else { return false }
        return nanos <= lastRunNanos - windowNanos - 1
    }
}

extension ScanDetector {
    /// Holds the failure in the tier if it is its source's first that may be held; if the
    /// tier held the source's first, counts that into the scan tables. True if held.
    @inline(__always)
    mutating func holdsFirstFailure(source: IPAddress, destination: IPAddress, port: UInt16, clockNanos: UInt64) -> Bool {
        if clockNanos < firstFailures.newestNanos { countFirstFailures(after: clockNanos) }
        let inOrder = clockNanos >= firstFailureClock.latestFailureNanos
        if inOrder { firstFailureClock.latestFailureNanos = clockNanos }
        guard source.isIPv4 else { return false }
        let address = UInt32(truncatingIfNeeded: source.low)
        let hash = tracker.sourceHash(source)
        // A source the scan tables know is not in the tier.
        if tracker.holdsIPv4(address, hash: hash) || slowscans.holds(source, hash: hash)
            || (countsAddrscansApart && addrscansHold(address, hash: hash)) { return false }
        if inOrder && clockNanos >= firstFailureClock.admissionStartNanos && destination.isIPv4 && tracker.keepsIPv4SourcesApart
            && (!countsAddrscansApart || addrscansKeepIPv4SourcesApart) {
            guard let first = firstFailures.holdOrTake(source: address, hash: hash, destination: UInt32(truncatingIfNeeded: destination.low),
                                                       port: port, nowNanos: clockNanos) else { return true }
            count(first, settled: false)
        } else if !firstFailures.isEmpty, let first = firstFailures.take(source: address) {
            count(first, settled: false)
        }
        return false
    }

    // Both mutating though they change nothing: called from a mutating path, a non-mutating
    // call out of line had the whole detector (592 bytes) copied to the caller's frame first,
    // a memcpy for every failure of a flood (as `isToHost` did to `DetectionCore`).
    @inline(never)
    private mutating func addrscansHold(_ address: UInt32, hash: UInt64) -> Bool { addrscans?.holdsIPv4(address, hash: hash) ?? false }

    @inline(never)
    private var addrscansKeepIPv4SourcesApart: Bool {
        mutating get { addrscans?.keepsIPv4SourcesApart ?? true }
    }

    /// Counts the held failures later than `nanos` into the scan tables, oldest first: a
    /// failure at `nanos` comes, whose record would have lain behind theirs.
    @inline(never)
    mutating func countFirstFailures(after nanos: UInt64) {
        for first in firstFailures.takeYoungest(after: nanos) { count(first, settled: true) }
    }

    /// Counts a held first failure into each scan table that would still hold it, at its own
    /// time; it crosses nothing (`usesFirstFailures`). `settled`: taken out without a second
    /// failure, which would have moved its slow-scan record to the young end.
    @inline(never)
    mutating func count(_ first: FirstFailure, settled: Bool) {
        let source = IPAddress(ipv4: first.source)
        let destination = IPAddress(ipv4: first.destination)
        let clock = firstFailureClock
        if !clock.wouldHaveForgotten(first.nanos, windowNanos: tracker.windowNanos) {
            var hash: UInt64 = 0
            _ = tracker.count(source: source, destination: destination, port: first.port, nowNanos: first.nanos, sourceHash: &hash)
            replayedFast.add(source: first.source, nanos: first.nanos) {
                tracker.windowStartNanos(ofIPv4: $0.source) == $0.nanos
            }
        }
        if countsAddrscansApart, let window = addrscans?.windowNanos, !clock.wouldHaveForgotten(first.nanos, windowNanos: window) {
            _ = countAddrscansApart(source: source, destination: destination, port: first.port, nowNanos: first.nanos)
            replayedApart.add(source: first.source, nanos: first.nanos) {
                addrscans?.windowStartNanos(ofIPv4: $0.source) == $0.nanos
            }
        }
        if !clock.wouldHaveForgotten(first.nanos, windowNanos: slowscans.windowNanos) {
            _ = slowscans.count(source: source, sourceHash: tracker.sourceHash(source), destination: destination, port: first.port,
                                nowNanos: first.nanos, scanReported: false)
            if settled {
                replayedSlow.add(source: first.source, nanos: first.nanos) {
                    slowscans.isFirstAttemptOnly(IPAddress(ipv4: $0.source), touchedNanos: $0.nanos)
                }
            }
        }
    }

    /// The timers ran at `nowNanos`: records counted late whose time the cutoff reaches are
    /// forgotten, as they would have been in their place, and held failures that every scan
    /// table would have forgotten go.
    mutating func forgetFirstFailures(timersRanAtNanos nowNanos: UInt64) {
        firstFailureClock.lastRunNanos = nowNanos
        let shortest = firstFailureClock.shortestWindowNanos
        firstFailureClock.admissionStartNanos = nowNanos > shortest ? nowNanos - shortest : 0
        if nowNanos > tracker.windowNanos {
            replayedFast.removeAll(atOrBefore: nowNanos - tracker.windowNanos - 1) {
                tracker.forgetReplayed(ipv4: $0.source, windowStartNanos: $0.nanos)
            }
        }
        if let window = addrscans?.windowNanos, nowNanos > window {
            replayedApart.removeAll(atOrBefore: nowNanos - window - 1) {
                addrscans?.forgetReplayed(ipv4: $0.source, windowStartNanos: $0.nanos)
            }
        }
        if nowNanos > slowscans.windowNanos {
            replayedSlow.removeAll(atOrBefore: nowNanos - slowscans.windowNanos - 1) {
                slowscans.forgetReplayed(IPAddress(ipv4: $0.source), touchedNanos: $0.nanos)
            }
        }
        let longest = firstFailureClock.longestWindowNanos
        if nowNanos > longest { firstFailures.expire(touchedAtOrBefore: nowNanos - longest - 1) }
    }
}
