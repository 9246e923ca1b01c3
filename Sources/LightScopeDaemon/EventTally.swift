import LightScopeCore
import LightScopeStore
import Synchronization

extension EventPipeline: EventSink {}

/// Counts events by verdict and per minute on their way to the pipeline, for STATUS,
/// `lightscope status` ("events in the last hour") and the metrics.
final class EventTally: EventSink {
    private let downstream: EventSink
    private let counts = Mutex<(byVerdict: [Verdict: UInt64], window: EventRateWindow)>(([:], EventRateWindow()))

    init(downstream: EventSink) {
        self.downstream = downstream
    }

    @discardableResult
    func submit(_ event: UnwantedEvent) -> Bool {
        let now = WallClock.nowNanos()
        counts.withLock {
            $0.byVerdict[event.verdict, default: 0] &+= 1
            $0.window.add(atNanos: now)
        }
        return downstream.submit(event)
    }

    func snapshot(atNanos now: UInt64) -> DaemonSnapshot.Events {
        counts.withLock { counts in
            DaemonSnapshot.Events(byVerdict: Dictionary(uniqueKeysWithValues: counts.byVerdict.map { ($0.key.rawValue, $0.value) }),
                                  lastHour: counts.window.lastHour(atNanos: now))
        }
    }
}
