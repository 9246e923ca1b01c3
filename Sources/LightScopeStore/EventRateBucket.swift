/// Which events the store keeps one row each (docs/store.md, "Aggregation"): a token bucket
/// over the events' capture times. It holds `burst` events and refills at `eventsPerSecond`;
/// an event it admits stays its own row, one it refuses is folded into an aggregate. So
/// below the rate every event stays its own row, and a flood above it costs the writer at
/// most `burst` + `eventsPerSecond` x the flood's length in rows, whatever its size.
///
/// Capture time, not a clock of the pipeline's: the rate is the traffic's, so the same events
/// are aggregated the same way however fast a loop hands them over (a loop catching up on a
/// ring, a minute's probes expiring together after `syn_answer_timeout`, a test that submits
/// before the writer starts), and it is the time the aggregates' minutes are taken from.
/// Events reach it out of order (an unanswered probe carries its SYN's time, seconds older
/// than a closed one's; several loops): an older one takes from the bucket but never refills
/// it. Kept as the virtual time at which the bucket is full again (GCRA), one comparison per
/// event. Used under the pipeline's lock.
struct EventRateBucket {
    /// Events a second, of capture time, that stay one row each however long they go on:
    /// 1,000 rows at ~4.5 us of writer CPU each are under 0.5 % of a core (bench/README.md,
    /// "The store writer").
    static let eventsPerSecond: UInt64 = 1_000
    /// Events that stay one row each at once, before the rate applies: an nmap scan of a
    /// host's 1,000 most common ports twice over, however fast, with its port scan event.
    static let burst: UInt64 = 2_048
    /// An event this much older than the newest one seen means the clock was stepped back
    /// (longer than `syn_answer_timeout` can make a probe's event lag): the bucket then
    /// follows the new time instead of refusing until the old time comes round again.
    static let clockStepBackNanos: UInt64 = 3_600_000_000_000

    private let nanosPerEvent: UInt64
    /// How far ahead of now the full time may be and still admit an event: (burst - 1) events.
    private let tolerance: UInt64
    /// When the bucket is full again if nothing more is taken (0: full from the start).
    private var fullAt: UInt64 = 0
    /// The newest capture time seen.
    private var latest: UInt64 = 0

    init(eventsPerSecond: UInt64 = EventRateBucket.eventsPerSecond, burst: UInt64 = EventRateBucket.burst) {
        precondition(eventsPerSecond > 0 && burst > 0)
        nanosPerEvent = max(1, 1_000_000_000 / eventsPerSecond)
        tolerance = (burst - 1) * nanosPerEvent
    }

    /// Whether an event captured at `timeNanos` stays its own row; takes it from the bucket if so.
    mutating func admits(atNanos timeNanos: UInt64) -> Bool {
        if timeNanos > latest {
            latest = timeNanos
        } else if latest - timeNanos > Self.clockStepBackNanos {
            // The clock was stepped back: the bucket keeps its level from the new time on.
            fullAt = timeNanos + (fullAt > latest ? fullAt - latest : 0)
            latest = timeNanos
        }
        guard fullAt <= latest + tolerance else { return false }
        fullAt = max(fullAt, latest) + nanosPerEvent
        return true
    }
}
