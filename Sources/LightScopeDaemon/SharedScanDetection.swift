import LightScopeCore
import Synchronization

/// The scans of one interface's packet loops, counted together (`LiveScanDetector`), when
/// `[capture] threads` runs more than one. The fan-out gives every packet of one address pair
/// to one loop, so a probe meets its answer there; but a scanner's probes of many ports, or
/// addresses, reach every loop, so what is counted per source must be one table.
///
/// Each loop hands over its failures a batch at a time (`DetectionConsumer`): the lock is
/// taken once per batch and once per wake-up, never per packet.
final class SharedScanDetection: Sendable {
    private let detector: Mutex<LiveScanDetector>

    init(interface: String, settings: Settings.Detection, budget: DetectionBudget) {
        detector = Mutex(LiveScanDetector(interface: InterfaceName(interface), settings: settings, budget: budget))
    }

    /// Takes a loop's failures, each with the wall-clock time it was reported; they are
    /// counted in that order across the loops (`LiveScanDetector`). Scan events go to `emit`
    /// after the lock is released.
    func add(_ failures: [Failure], emit: (UnwantedEvent) -> Void) {
        let scans = detector.withLock { detector -> [UnwantedEvent] in
            var scans: [UnwantedEvent] = []
            for failure in failures { detector.add(failure.event, reportedNanos: failure.reportedNanos) { scans.append($0) } }
            return scans
        }
        for scan in scans { emit(scan) }
    }

    /// A loop's timers ran: failures past the reorder window are counted, windows that are
    /// over forgotten.
    func advance(monotonicNanos: UInt64, wallClockNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        let scans = detector.withLock { detector -> [UnwantedEvent] in
            var scans: [UnwantedEvent] = []
            detector.advance(monotonicNanos: monotonicNanos, wallClockNanos: wallClockNanos) { scans.append($0) }
            return scans
        }
        for scan in scans { emit(scan) }
    }

    /// A loop stops: every failure waiting is counted now.
    func finish(emit: (UnwantedEvent) -> Void) {
        let scans = detector.withLock { detector -> [UnwantedEvent] in
            var scans: [UnwantedEvent] = []
            detector.finish { scans.append($0) }
            return scans
        }
        for scan in scans { emit(scan) }
    }

    struct Failure: Sendable {
        var reportedNanos: UInt64
        var event: UnwantedEvent
    }

    /// Adds the shared tables' figures to one loop's state, for the status.
    func addFigures(to state: inout DetectionState) {
        detector.withLock { detector in
            state.scanSources += detector.trackedSources
            state.scanSourceEvictions &+= detector.evictions
            state.slowScanSources += detector.slowScanSources
            state.slowScanEvictions &+= detector.slowScanEvictions
            state.tableBytes += detector.reservedBytes
        }
    }
}
