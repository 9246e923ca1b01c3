import Synchronization

/// Why an event never reached the store (or, for `fleet`, the central store).
public enum EventLossReason: String, CaseIterable, Codable, Sendable {
    /// The event writer's queue was full: the store could not keep up.
    case queue
    /// Detection pushed out a pending probe at its capacity (the memory budget) before its verdict.
    case eviction
    /// The store could not be written (full disk, read-only, removed, at `max_store_mib`), or
    /// deleted the event before `retention_days` to stay within `max_events` or `max_store_mib`.
    case disk
    /// A capture loop hung and was given up with the probes it held.
    case interface
    /// Removed from the store (retention, `max_events`, `max_store_mib`) before the fleet
    /// shipper delivered it to the central store.
    case fleet
    /// Above the aggregation mark, the aggregate table had no room for a new (port, network,
    /// minute): the event was neither queued nor folded into an aggregate (docs/store.md).
    case aggregation
}

/// Every lost event of the daemon, counted in this one place by reason, from any thread
/// without locks: status, metrics and the stop line all read it.
public final class LostEvents: Sendable {
    private let queue = Atomic<UInt64>(0)
    private let eviction = Atomic<UInt64>(0)
    private let disk = Atomic<UInt64>(0)
    private let interface = Atomic<UInt64>(0)
    private let fleet = Atomic<UInt64>(0)
    private let aggregation = Atomic<UInt64>(0)

    public init() {}

    public func add(_ count: UInt64, _ reason: EventLossReason) {
        guard count > 0 else { return }
        switch reason {
        case .queue: queue.wrappingAdd(count, ordering: .relaxed)
        case .eviction: eviction.wrappingAdd(count, ordering: .relaxed)
        case .disk: disk.wrappingAdd(count, ordering: .relaxed)
        case .interface: interface.wrappingAdd(count, ordering: .relaxed)
        case .fleet: fleet.wrappingAdd(count, ordering: .relaxed)
        case .aggregation: aggregation.wrappingAdd(count, ordering: .relaxed)
        }
    }

    public subscript(reason: EventLossReason) -> UInt64 {
        switch reason {
        case .queue: queue.load(ordering: .relaxed)
        case .eviction: eviction.load(ordering: .relaxed)
        case .disk: disk.load(ordering: .relaxed)
        case .interface: interface.load(ordering: .relaxed)
        case .fleet: fleet.load(ordering: .relaxed)
        case .aggregation: aggregation.load(ordering: .relaxed)
        }
    }

    public var total: UInt64 { EventLossReason.allCases.reduce(0) { $0 &+ self[$1] } }

    /// Every reason, by name (zeros included), as the status file and metrics show them.
    public var byReason: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: EventLossReason.allCases.map { ($0.rawValue, self[$0]) })
    }
}
