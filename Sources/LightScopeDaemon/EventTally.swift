import LightScopeCore
import LightScopeStore
import Synchronization

extension EventPipeline: EventSink {}

/// Counts this run's events by verdict and by tool on their way to the pipeline, for
/// `lightscope status` and the metrics.
final class EventTally: EventSink {
    private let downstream: EventSink
    private let counts = Mutex(Counts())

    struct Counts {
        var byVerdict = VerdictCounts()
        var byTool = [UInt64](repeating: 0, count: ScanTool.allCases.count)

        @inline(__always)
        mutating func count(_ event: UnwantedEvent) {
            withUnsafePointer(to: event) { count($0) }
        }

        /// `count`, reading the event where it is: its verdict and tool, not a copy of it.
        @inline(__always)
        mutating func count(_ event: UnsafePointer<UnwantedEvent>) {
            byVerdict.count(event.pointee.verdict)
            byTool[Int(event.pointee.tool.rawValue)] &+= 1
        }

        mutating func add(_ other: Counts) {
            byVerdict.add(other.byVerdict)
            for index in byTool.indices { byTool[index] &+= other.byTool[index] }
        }
    }

    /// One packet loop's counts between hand-overs (`add`): its events reach the pipeline
    /// without taking this tally's lock each (under a flood, a lock per probe).
    struct Batch {
        fileprivate var counts = Counts()
        fileprivate var events = 0
    }

    init(downstream: EventSink) {
        self.downstream = downstream
    }

    @discardableResult
    func submit(_ event: UnwantedEvent) -> Bool {
        counts.withLock { $0.count(event) }
        return downstream.submit(event)
    }

    @discardableResult
    func submit(contentsOf events: [UnwantedEvent]) -> Int {
        events.withUnsafeBufferPointer { submit(contentsOf: $0) }
    }

    @discardableResult
    func submit(contentsOf events: UnsafeBufferPointer<UnwantedEvent>) -> Int {
        counts.withLock { counts in
            for index in events.indices { counts.count(events.baseAddress! + index) }
        }
        return downstream.submit(contentsOf: events)
    }

    /// `submit(contentsOf:)`, counted in the caller's `batch` instead of under the lock: hand
    /// the batch over (`add`) before the figures are read (every ring drain and timer run).
    @discardableResult
    func submit(contentsOf events: UnsafeBufferPointer<UnwantedEvent>, countingIn batch: inout Batch) -> Int {
        if let first = events.baseAddress {
            for index in events.indices { batch.counts.count(first + index) }
        }
        batch.events &+= events.count
        return downstream.submit(contentsOf: events)
    }

    /// Adds a batch's counts under one lock, and empties it.
    func add(_ batch: inout Batch) {
        guard batch.events > 0 else { return }
        counts.withLock { $0.add(batch.counts) }
        batch = Batch()
    }

    var room: Int { downstream.room }

    var snapshot: DaemonSnapshot.Events {
        counts.withLock { counts in
            DaemonSnapshot.Events(byVerdict: counts.byVerdict.nonZeroByName,
                                  byTool: Dictionary(uniqueKeysWithValues: ScanTool.allCases.map { ($0.name, counts.byTool[Int($0.rawValue)]) }))
        }
    }
}
