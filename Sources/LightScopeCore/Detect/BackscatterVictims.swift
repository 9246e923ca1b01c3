/// Backscatter, counted per victim: the first answer from a victim opens its minute, every
/// answer in that minute adds to its count, and the minute's end makes one `backscatter`
/// event with the count in `packets`. One attack is then one line a minute, not a flood.
///
/// Nothing is dropped silently: a victim pushed out of a full table (a flood of spoofed
/// victims beyond the budget's share) is reported at once with what it has counted, and
/// `finish` reports every open minute.
struct BackscatterVictims {
    /// How long one victim's answers are counted into one event: the rate limit, one event
    /// per victim per this interval.
    static let reportInterval: Duration = .seconds(60)

    /// Victims the table starts with room for: most hosts never see backscatter, and a quiet
    /// engine's tables must stay small (`DetectionCapacityTests`).
    static let initialVictims = 64

    private var victims: ExpiringTable<BackscatterVictimRecord>
    private let reportIntervalNanos = UInt64(reportInterval.nanoseconds)

    init(capacities: DetectionCapacities, budget: DetectionBudget) {
        victims = ExpiringTable(maximumCapacity: capacities.backscatterVictims, initialCapacity: Self.initialVictims,
                                pool: budget.pool(.backscatterVictims))
    }

    var count: Int { victims.count }
    /// Victims reported before their minute ended, for want of room.
    var evictions: UInt64 { victims.evictions }
    var reservedBytes: Int { victims.reservedBytes }

    /// Whether `victim`'s answers are being counted now. Linux resets a SYN-ACK it never asked
    /// for with a RST without ACK, the same answer it gives an ACK probe: that reset belongs to
    /// the attack already counted, not to a probe of the host.
    func isCounting(victim: IPAddress) -> Bool { victims.contains(victim) }

    /// One answer from `record`'s victim at `clockNanos`: counted into its open minute, or
    /// opening one. Returns a victim the full table pushed out, with when its minute began,
    /// for the caller to report.
    mutating func count(_ record: BackscatterVictimRecord, clockNanos: UInt64) -> (BackscatterVictimRecord, UInt64)? {
        var evicted: (BackscatterVictimRecord, UInt64)?
        victims.insertOrModify(record.key, nowNanos: clockNanos, make: { record }, { open, _ in
            open.packets = open.packets == .max ? .max : open.packets + 1
            if open.victimPort != record.victimPort { open.variedPorts |= 1 }
            if open.localPort != record.localPort { open.variedPorts |= 2 }
        }, evicted: { evicted = ($0, $1) })
        return evicted
    }

    /// The victims whose minute ended by `nowNanos`, taken out, each with when its minute began.
    mutating func closeMinutes(atNanos nowNanos: UInt64, into closed: inout [(BackscatterVictimRecord, UInt64)]) {
        guard nowNanos >= reportIntervalNanos else { return }
        victims.expire(touchedAtOrBefore: nowNanos - reportIntervalNanos) { closed.append(($0, $1)) }
        victims.shrinkIfSparse()
    }

    /// Every open minute, taken out: the end of a capture, or shutdown.
    mutating func drain(into closed: inout [(BackscatterVictimRecord, UInt64)]) {
        victims.drain { closed.append(($0, $1)) }
    }
}
