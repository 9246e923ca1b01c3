/// Slow scans: a source whose failed attempts, over a long window (`slowscan_window`, a day
/// by default), reach `slowscan_ports` distinct ports or `slowscan_addresses` distinct local
/// addresses, however slowly they came. One probe a minute never makes a `portscan` in five
/// minutes; over a day it makes a `slowscan`.
///
/// Each source costs one fixed record (`SlowScanRecord`, 64 bytes): its window's start, its
/// attempts and two `DistinctSketch`es, one of the ports it probed and one of the addresses,
/// not the targets themselves (but a source's first, until a second attempt counts it). Windows
/// are tumbling, from a source's first failed attempt, like `ScanTracker`'s. A source is
/// reported once per window, and not at all in a window where its `portscan` or `addrscan` was
/// reported already: it scanned fast enough to be seen. The table has its own share of the
/// memory budget (`DetectionTable.slowScanSources`); when it is full the source that failed
/// least recently is evicted, and counted. Unlike the fast scans' table, which evicts the
/// oldest window, this keeps a slow scanner that goes on probing, whatever number of one-off
/// sources passes by.
struct SlowScanTracker {
    let ports: Int
    let addresses: Int
    let windowNanos: UInt64
    /// The window in whole seconds, as records keep their window's start.
    private let windowSeconds: UInt32
    /// The fewest set bits of a sketch whose estimate reaches `ports` (`addresses`): the
    /// estimate only grows with the bits, so the thresholds are checked on the bits, and
    /// the estimates worked out only when one is crossed.
    private let portBitsNeeded: Int
    private let addressBitsNeeded: Int
    /// No first attempt crosses a threshold (one set bit reaches neither): then a new
    /// source's record is made as its first attempt leaves it, without counting (a test
    /// turns it off, to compare with the plain count).
    var firstAttemptCrossesNothing: Bool
    private var sources: ExpiringTable<SlowScanRecord>

    struct Crossing: Equatable {
        var source: IPAddress
        /// The probed host, when the ports crossed their threshold.
        var destination: IPAddress?
        /// The probed port, when only the addresses crossed theirs.
        var destinationPort: UInt16?
        /// The estimates that crossed (nil: that one did not).
        var ports: Int?
        var addresses: Int?
        var attempts: UInt32
    }

    /// Entries the table starts with: a quarter of the other tables' first size, since
    /// every failing source costs more here and a quiet network has few.
    static let initialEntries = DetectionBudget.initialEntries / 4

    /// `seed`: its table's hash secret, shared with the fast scans' tables (`ScanTracker.sourceHash`).
    init(settings: Settings.Detection, capacities: DetectionCapacities, budget: DetectionBudget, seed: FastHashSeed = .random()) {
        ports = settings.slowscanPorts
        addresses = settings.slowscanAddresses
        windowNanos = UInt64(settings.slowscanWindow.nanoseconds)
        windowSeconds = UInt32(clamping: max(1, windowNanos / 1_000_000_000))
        portBitsNeeded = Self.setBitsNeeded(toReach: ports)
        addressBitsNeeded = Self.setBitsNeeded(toReach: addresses)
        firstAttemptCrossesNothing = portBitsNeeded > 1 && addressBitsNeeded > 1
        sources = ExpiringTable(maximumCapacity: capacities.slowScanSources, initialCapacity: Self.initialEntries,
                                pool: budget.pool(.slowScanSources), seed: seed)
    }

    var trackedSources: Int { sources.count }
    /// Sources pushed out by a full table: their windows' counts are lost, not events.
    var evictions: UInt64 { sources.evictions }
    var reservedBytes: Int { sources.reservedBytes }
    /// Whether `source` is counted now (tests).
    func tracks(_ source: IPAddress) -> Bool { sources.contains(source) }

    /// Whether `source`, whose hash under the table's seed is `hash`, is counted now.
    @inline(__always)
    func holds(_ source: IPAddress, hash: UInt64) -> Bool { sources.contains(source, hash: hash) }

    /// Forgets `source` if its record is still the one its first failure's promotion wrote
    /// late (one attempt, touched then: `ReplayedFirstFailures`).
    mutating func forgetReplayed(_ source: IPAddress, touchedNanos: UInt64) {
        guard isFirstAttemptOnly(source, touchedNanos: touchedNanos) else { return }
        sources.remove(source)
    }

    /// Whether `source`'s record has one attempt, touched at `touchedNanos`.
    func isFirstAttemptOnly(_ source: IPAddress, touchedNanos: UInt64) -> Bool {
        guard let record = sources[source], record.attempts == 1 else { return false }
        return sources.touchedNanos(of: source) == touchedNanos
    }

    /// Starts loading the entry of the source whose hash (under this table's seed) is `hash`
    /// (see `ExpiringTable.prefetch`).
    @inline(__always)
    func prefetch(hash: UInt64) { sources.prefetch(hash: hash) }

    /// Counts one failed attempt from `source` at `destination`:`port`. `scanReported`: this
    /// attempt made the source's `portscan` or `addrscan`, which then stands for its slow scan.
    /// Returns the crossing this attempt made, if any.
    mutating func record(source: IPAddress, destination: IPAddress, port: UInt16, nowNanos: UInt64,
                         scanReported: Bool) -> Crossing? {
        count(source: source, sourceHash: sources.hash(of: source), destination: destination, port: port, nowNanos: nowNanos,
              scanReported: scanReported).map { $0.crossing(source: source, destination: destination, port: port) }
    }

    /// What an attempt crossed, small enough to come back in registers: under a flood nearly
    /// every attempt crosses nothing, and a `Crossing?` was written out whole every time.
    struct Crossed {
        var ports: UInt16
        var addresses: UInt16
        var attempts: UInt32
        var portsCrossed: Bool
        var addressesCrossed: Bool

        func crossing(source: IPAddress, destination: IPAddress, port: UInt16) -> Crossing {
            Crossing(source: source, destination: portsCrossed ? destination : nil, destinationPort: portsCrossed ? nil : port,
                     ports: portsCrossed ? Int(ports) : nil, addresses: addressesCrossed ? Int(addresses) : nil, attempts: attempts)
        }
    }

    /// `record`, answering with the counts that crossed (see `Crossed.crossing`). `sourceHash`:
    /// `source`'s hash under the table's seed, made once by the caller for every scan table.
    mutating func count(source: IPAddress, sourceHash: UInt64, destination: IPAddress, port: UInt16, nowNanos: UInt64,
                        scanReported: Bool) -> Crossed? {
        let nowSeconds = UInt32(truncatingIfNeeded: nowNanos / 1_000_000_000)
        var crossed: Crossed?
        // Most sources under a flood fail once: their record is made as counting its first
        // attempt in a fresh window would leave it, with nothing to check.
        let firstAttemptOnly = firstAttemptCrossesNothing
        var made = false
        // Made where a record is counted into (not on the flood's path, where a new source's
        // first attempt is counted by making its record): made here, it was stored every time.
        let (window, portBits, addressBits) = (windowSeconds, portBitsNeeded, addressBitsNeeded)
        func attempt() -> Attempt {
            Attempt(source: source, destination: destination, port: port, nowSeconds: nowSeconds, scanReported: scanReported,
                    windowSeconds: window, portBits: portBits, addressBits: addressBits)
        }
        // Touched at every attempt, so that the least recently active source is the one a
        // full table evicts; one lookup, whether the source is new or known.
        // The record is made after the eviction a full table needs (ExpiringTable+OneWalk.swift).
        // One call for each kind of new record: through one, the two kinds met in one set of
        // values, which the insert kept on the stack over the eviction, and a flood's new
        // source's record was copied from there field by field instead of written as made.
        if firstAttemptOnly {
            sources.insertOrModify(source, hash: sourceHash, nowNanos: nowNanos, refresh: true, make: {
                made = true
                return SlowScanRecord(firstAttemptOf: source, windowStart: nowSeconds, port: port, destination: destination,
                                      scanReported: scanReported)
            }) { record, _ in
                if !made { crossed = Self.count(attempt(), into: &record) }
            } evicted: { _, _ in }
        } else {
            sources.insertOrModify(source, hash: sourceHash, nowNanos: nowNanos, refresh: true,
                                   make: { SlowScanRecord(source: source, windowStart: nowSeconds) }) { record, _ in
                crossed = Self.count(attempt(), into: &record)
            } evicted: { _, _ in }
        }
        return crossed
    }

    /// A failed attempt, with the tracker's window and thresholds: what `count` counts into a
    /// record (a static call, apart from the tracker whose table is being changed).
    struct Attempt {
        var source: IPAddress
        var destination: IPAddress
        var port: UInt16
        var nowSeconds: UInt32
        var scanReported: Bool
        var windowSeconds: UInt32
        var portBits: Int
        var addressBits: Int
    }

    /// Counts `attempt` into a record that was there, or made bare; returns what it crossed,
    /// if anything.
    @inline(__always)
    private static func count(_ attempt: Attempt, into record: inout SlowScanRecord) -> Crossed? {
        // Wrapping: seconds since the window started, whatever the clock's epoch.
        if attempt.nowSeconds &- record.windowStart > attempt.windowSeconds {
            record = SlowScanRecord(source: attempt.source, windowStart: attempt.nowSeconds)
        } else {
            record.countFirstTarget()
        }
        record.attempts &+= 1
        let newPort = record.ports.insert(hash: DistinctSketch.hash(port: attempt.port))
        let newAddress = record.addresses.insert(hash: DistinctSketch.hash(address: attempt.destination))
        if attempt.scanReported { record.flags |= SlowScanRecord.scanReported }
        // An estimate grows only with a new bit: most attempts stop here.
        guard record.flags == 0, newPort || newAddress else { return nil }
        let portsCrossed = newPort && record.ports.setBits >= attempt.portBits
        let addressesCrossed = newAddress && record.addresses.setBits >= attempt.addressBits
        guard portsCrossed || addressesCrossed else { return nil }
        record.flags |= SlowScanRecord.slowscanReported
        // Estimates of 128-bit sketches: at most 622 (`DistinctSketch.estimate`).
        return Crossed(ports: UInt16(record.ports.estimate), addresses: UInt16(record.addresses.estimate),
                       attempts: record.attempts, portsCrossed: portsCrossed, addressesCrossed: addressesCrossed)
    }

    /// The fewest set bits whose estimate reaches `threshold`; more than a sketch has if none does.
    static func setBitsNeeded(toReach threshold: Int) -> Int {
        (0...DistinctSketch.bits).first { DistinctSketch.estimate(setBits: $0) >= threshold } ?? DistinctSketch.bits + 1
    }

    /// Forgets sources that failed no attempt for a whole window: theirs is over, and the
    /// next attempt would start a new one anyway, so forgetting changes no verdict.
    mutating func expire(nowNanos: UInt64) {
        guard nowNanos > windowNanos else { return }
        sources.expire(touchedAtOrBefore: nowNanos - windowNanos - 1) { _, _ in }
        sources.shrinkIfSparse()
    }
}

/// A slow-scan source: 64 bytes, whatever its family. The stamp's time is its last attempt.
struct SlowScanRecord: TableRecord {
    var source: PackedAddress
    var ports = DistinctSketch()
    var addresses = DistinctSketch()
    var attempts: UInt32 = 0
    /// The window's start, in whole seconds of the timers' clock (wrapping).
    var windowStart: UInt32
    var stamp = RecordStamp()
    var flags: UInt8 = 0

    static let slowscanReported: UInt8 = 1
    static let scanReported: UInt8 = 2
    /// The sketches hold the first attempt's target itself, not yet counted
    /// (`init(firstAttemptOf:)`, `countFirstTarget`).
    static let firstTargetUncounted: UInt8 = 4

    var key: IPAddress { source.address }

    init(source: IPAddress, windowStart: UInt32) {
        self.source = PackedAddress(source)
        self.windowStart = windowStart
    }

    /// What counting one attempt at `destination`:`port` in a fresh window leaves, when it
    /// crosses no threshold (`SlowScanTracker.count`'s first attempt), but for the sketches:
    /// they keep the target itself, the address in `addresses` and the port in `ports`, and
    /// `countFirstTarget` counts it if a second attempt comes. Under a flood of one-off
    /// sources nearly every record is evicted before one does, and its two hashes (about 40
    /// instructions a source) were never needed.
    @inline(__always)
    init(firstAttemptOf source: IPAddress, windowStart: UInt32, port: UInt16, destination: IPAddress, scanReported: Bool) {
        self.init(source: source, windowStart: windowStart)
        attempts = 1
        let target = PackedAddress(destination)
        addresses = DistinctSketch(word0: target.word0, word1: target.word1, word2: target.word2, word3: target.word3)
        ports.word0 = UInt32(port)
        flags = (scanReported ? Self.scanReported : 0) | Self.firstTargetUncounted
    }

    /// Counts the first attempt's target into the sketches, if `init(firstAttemptOf:)` left
    /// it uncounted: the record is then what counting that attempt would have made.
    @inline(__always)
    mutating func countFirstTarget() {
        guard flags & Self.firstTargetUncounted != 0 else { return }
        let port = UInt16(truncatingIfNeeded: ports.word0)
        let destination = PackedAddress(word0: addresses.word0, word1: addresses.word1, word2: addresses.word2,
                                        word3: addresses.word3).address
        ports = DistinctSketch()
        ports.insert(hash: DistinctSketch.hash(port: port))
        addresses = DistinctSketch()
        addresses.insert(hash: DistinctSketch.hash(address: destination))
        flags &= ~Self.firstTargetUncounted
    }
}
