import LightScopeCore
import LightScopeStore
import Synchronization

extension EventPipeline: EventSink {
    public var room: Int { max(0, queueCapacity - queuedEvents) }
}

/// Counts this run's events by verdict on their way to the pipeline, for `lightscope status`
/// and the metrics.
final class EventTally: EventSink {
    private let downstream: EventSink
    private let byVerdict = Mutex<[Verdict: UInt64]>([:])

    init(downstream: EventSink) {
        self.downstream = downstream
    }

    @discardableResult
    func submit(_ event: UnwantedEvent) -> Bool {
        byVerdict.withLock { $0[event.verdict, default: 0] &+= 1 }
        return downstream.submit(event)
    }

    var room: Int { downstream.room }

    var snapshot: DaemonSnapshot.Events {
        byVerdict.withLock { counts in
            DaemonSnapshot.Events(byVerdict: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }))
        }
    }
}
