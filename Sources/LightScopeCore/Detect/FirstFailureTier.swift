/// The first failed attempt of each IPv4 source that no scan table knows: under a flood of
/// probes from random sources nearly every source fails once and is never seen again, and
/// counting each into the fast and slow scans' tables made a record in each (and evicted
/// another source's) for nothing. Here such a source costs one 20-byte record; its second
/// failure takes it out, and `ScanDetector` counts the first into the scan tables as it
/// would have been counted at its own time, then the second (`ScanDetector+FirstFailures`).
///
/// Its records are in the order of their times (`ScanDetector` admits a failure only if no
/// failure before it came later), so the youngest can be taken back (`takeYoungest`) and
/// the oldest expire first. It draws on the scan sources' pool, up to `capacity`; when full
/// it evicts its oldest record, counted with the scan sources' evictions: scan state lost.
struct FirstFailureTier {
    private var table: ExpiringTable<FirstFailureRecord>
    /// No held record was touched after this (the time of the last admitted one, or of the
    /// failure that took the younger ones back).
    private(set) var newestNanos: UInt64 = 0

    init(capacity: Int, initialCapacity: Int, pool: TableBytePool, seed: FastHashSeed) {
        table = ExpiringTable(maximumCapacity: capacity, initialCapacity: initialCapacity, pool: pool, seed: seed)
    }

    var count: Int { table.count }
    var isEmpty: Bool { table.isEmpty }
    var evictions: UInt64 { table.evictions }
    var reservedBytes: Int { table.reservedBytes }

    @inline(__always)
    func prefetch(hash: UInt64) { table.prefetch(hash: hash) }

    /// Holds `source`'s first failure, at `nowNanos`, or, if it holds one already, takes that
    /// out and returns it: one lookup for a new source (nearly every one, under a flood).
    @inline(__always)
    mutating func holdOrTake(source: UInt32, hash: UInt64, destination: UInt32, port: UInt16, nowNanos: UInt64) -> FirstFailure? {
        var made = false
        var held: FirstFailure?
        table.insertOrModify(IPv4Key(value: source), hash: hash, nowNanos: nowNanos, refresh: false, make: {
            made = true
            return FirstFailureRecord(source: source, destination: destination, port: port)
        }) { record, touched in
            if !made { held = FirstFailure(record, touchedNanos: touched) }
        } evicted: { _, _ in }
        if made {
            newestNanos = nowNanos
            return nil
        }
        table.remove(IPv4Key(value: source))
        return held
    }

    /// Takes `source`'s first failure out, if held.
    mutating func take(source: UInt32) -> FirstFailure? {
        table.remove(IPv4Key(value: source)).map { FirstFailure($0.record, touchedNanos: $0.touchedNanos) }
    }

    /// Takes out, oldest first, the held failures after `nanos` (all at the young end).
    mutating func takeYoungest(after nanos: UInt64) -> [FirstFailure] {
        newestNanos = nanos
        return table.takeYoungest(touchedAfter: nanos).map { FirstFailure($0.record, touchedNanos: $0.touchedNanos) }
    }

    /// Forgets the failures at or before `cutoffNanos`: every scan table had forgotten them.
    mutating func expire(touchedAtOrBefore cutoffNanos: UInt64) {
        table.expire(touchedAtOrBefore: cutoffNanos) { _, _ in }
        table.shrinkIfSparse()
    }
}

/// A failure as the tier held it: what the scan tables need to count it.
struct FirstFailure: Equatable {
    var source: UInt32
    var destination: UInt32
    var port: UInt16
    /// Its time on the timers' clock.
    var nanos: UInt64

    init(_ record: FirstFailureRecord, touchedNanos: UInt64) {
        source = record.source
        destination = record.destination
        port = record.port
        nanos = touchedNanos
    }
}

/// One held first failure: 20 bytes (17 used: the two addresses, the table's 7-byte stamp,
/// which is the failure's time, and the port).
struct FirstFailureRecord: TableRecord {
    var source: UInt32
    var destination: UInt32
    var stamp = RecordStamp()
    var port: UInt16

    var key: IPv4Key { IPv4Key(value: source) }

    init(source: UInt32, destination: UInt32, port: UInt16) {
        self.source = source
        self.destination = destination
        self.port = port
    }
}
