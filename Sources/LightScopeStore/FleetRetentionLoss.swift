import Synchronization

/// Events that retention (`retention_days`, `max_events`) removed before the fleet shipper had
/// delivered them: lost, with reason `fleet`. Their one home until the daemon's single loss
/// counter takes the reason over. Readable from any thread.
public final class FleetRetentionLoss: Sendable {
    private let shipping = Atomic<Bool>(false)
    private let lost = Atomic<UInt64>(0)
    /// True while retention passes keep removing undelivered events: one log line per episode.
    private let inEpisode = Atomic<Bool>(false)

    public init() {}

    /// Whether a shipper is configured: only then is an event in the store "not yet delivered".
    public var isShipping: Bool {
        get { shipping.load(ordering: .relaxed) }
        set { shipping.store(newValue, ordering: .relaxed) }
    }

    public var eventsLost: UInt64 { lost.load(ordering: .relaxed) }

    /// Counts one retention pass; returns the line to log when it starts an episode.
    func record(unshippedDeleted: Int, maxEvents: Int, retentionDays: Int) -> String? {
        guard unshippedDeleted > 0 else {
            inEpisode.store(false, ordering: .relaxed)
            return nil
        }
        lost.wrappingAdd(UInt64(unshippedDeleted), ordering: .relaxed)
        guard !inEpisode.exchange(true, ordering: .relaxed) else { return nil }
        return "Event store retention removed \(unshippedDeleted) events the fleet collector had not received yet "
            + "(over [store] max_events \(maxEvents) or retention_days \(retentionDays)); they are counted as lost (reason fleet). "
            + "The collector has been unreachable or slow for long: see lightscope status; raise max_events to keep more. "
            + "Logged once until retention stops removing undelivered events"
    }
}
