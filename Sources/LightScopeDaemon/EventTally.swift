import LightScopeCore
import LightScopeStore
import Synchronization

extension EventPipeline: EventSink {}

/// Counts this run's events by verdict and by tool on their way to the pipeline, for
/// `lightscope status` and the metrics.
final class EventTally: EventSink {
    private let downstream: EventSink
    private let counts = Mutex(Counts())

    private struct Counts {
        var byVerdict = VerdictCounts()
        var byTool = [UInt64](repeating: 0, count: ScanTool.allCases.count)
    }

    init(downstream: EventSink) {
        self.downstream = downstream
    }

    @discardableResult
    func submit(_ event: UnwantedEvent) -> Bool {
        counts.withLock { counts in
            counts.byVerdict.count(event.verdict)
            counts.byTool[Int(event.tool.rawValue)] &+= 1
        }
        return downstream.submit(event)
    }

    var room: Int { downstream.room }

    var snapshot: DaemonSnapshot.Events {
        counts.withLock { counts in
            DaemonSnapshot.Events(byVerdict: counts.byVerdict.nonZeroByName,
                                  byTool: Dictionary(uniqueKeysWithValues: ScanTool.allCases.map { ($0.name, counts.byTool[Int($0.rawValue)]) }))
        }
    }
}
