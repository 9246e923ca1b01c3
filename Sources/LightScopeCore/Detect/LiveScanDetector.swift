/// The scan half of detection shared by the packet loops of one interface
/// (`[capture] threads` above 1): each loop's engine leaves scans to it
/// (`ScanDetection.byCaller`) and hands it its failures, a batch at a time, and its timer
/// runs, so that a scanner whose probes the fan-out spread over the loops is counted whole.
///
/// **Order.** A source's count is exact only up to `ScanTracker.maximumTargetsPerSource`
/// targets, so which scan a fast scanner crosses first depends on the order of its failures.
/// The loops read their rings a block at a time (up to libpcap's read timeout of packets per
/// block), so one loop's batch can hold a whole fast scan's share before the other's arrives.
/// The failures therefore wait here, each with the time it was reported (the capture time of
/// the packet, or the timer run, that made it), and are counted in that order once
/// `reorderWindowNanos` has passed: the order one loop would have counted them in.
/// At most `mostWaiting` wait; beyond, the oldest are counted at once (a flood then costs
/// the order, never memory).
///
/// Its windows run on the monotonic clock, as an engine's do (`CaptureTimeline`): a
/// failure's capture time is mapped onto it, and never taken as earlier than one counted
/// before it (a window must not run backwards).
///
/// Pure and single-threaded: the caller holds the lock (`SharedScanDetection`).
public struct LiveScanDetector {
    private var detector: ScanDetector
    private var timeline = CaptureTimeline(clock: .monotonic)
    /// The latest time on the timers' clock a failure or timer run brought.
    private var latestClockNanos: UInt64 = 0
    private var waiting: [Waiting] = []
    private var sequence: UInt64 = 0

    /// How long a failure waits for those of the other loops reported before it: above
    /// libpcap's read timeout (100 ms), after which the kernel hands over a ring block that
    /// is not full, with a loop's wake-up to spare.
    public static let reorderWindowNanos: UInt64 = 400_000_000
    /// Failures that wait at most: 65,536 of about 150 bytes, 10 MiB, held only under a flood.
    public static let mostWaiting = 65_536

    private struct Waiting {
        var reportedNanos: UInt64
        var sequence: UInt64
        var event: UnwantedEvent
    }

    public init(interface: InterfaceName, settings: Settings.Detection, budget: DetectionBudget) {
        detector = ScanDetector(interface: interface, settings: settings, budget: budget)
    }

    /// Takes `event` if it is a failed attempt (see `ScanDetector.isFailure`), reported at
    /// `reportedNanos` (wall clock); counts it once its turn comes, emitting the scan events
    /// it makes cross a threshold.
    public mutating func add(_ event: UnwantedEvent, reportedNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        guard ScanDetector.isFailure(event.verdict) else { return }
        sequence &+= 1
        waiting.append(Waiting(reportedNanos: reportedNanos, sequence: sequence, event: event))
        if waiting.count > Self.mostWaiting { count(oldest: waiting.count - Self.mostWaiting / 2, emit: emit) }
    }

    /// A loop's timers ran, at the two clocks' readings: failures past the reorder window
    /// are counted, and windows that are over forgotten.
    public mutating func advance(monotonicNanos: UInt64, wallClockNanos: UInt64, emit: (UnwantedEvent) -> Void) {
        let window = Self.reorderWindowNanos
        count(reportedThrough: wallClockNanos > window ? wallClockNanos - window : 0, emit: emit)
        let now = timeline.observe(monotonicNanos: monotonicNanos, wallClockNanos: wallClockNanos)
        latestClockNanos = max(latestClockNanos, now > window ? now - window : 0)
        detector.timersRan(atNanos: latestClockNanos)
    }

    /// Counts every failure still waiting (a loop's stop).
    public mutating func finish(emit: (UnwantedEvent) -> Void) {
        count(reportedThrough: .max, emit: emit)
    }

    private mutating func count(reportedThrough due: UInt64, emit: (UnwantedEvent) -> Void) {
        sortWaiting()
        let ready = waiting.firstIndex { $0.reportedNanos > due } ?? waiting.count
        count(oldest: ready, emit: emit)
    }

    private mutating func count(oldest ready: Int, emit: (UnwantedEvent) -> Void) {
        guard ready > 0 else { return }
        sortWaiting()
        for index in 0..<ready { record(waiting[index].event, emit: emit) }
        waiting.removeFirst(ready)
    }

    private mutating func sortWaiting() {
        waiting.sort { ($0.reportedNanos, $0.sequence) < ($1.reportedNanos, $1.sequence) }
    }

    private mutating func record(_ event: UnwantedEvent, emit: (UnwantedEvent) -> Void) {
        guard let destination = event.destination, let port = event.destinationPort else { return }
        latestClockNanos = max(latestClockNanos, timeline.clockTime(ofCapture: event.timeNanos).nanos)
        detector.recordFailure(source: event.source, destination: destination, port: port, proto: event.proto,
                               timeNanos: event.timeNanos, clockNanos: latestClockNanos, tool: event.tool,
                               tcpFlags: event.tcpFlags, emit: emit)
    }

    /// Failures waiting for their turn.
    public var waitingCount: Int { waiting.count }
    /// The scan tables' figures, for the status (`DetectionState`'s scan fields).
    public var trackedSources: Int { detector.trackedSources }
    public var evictions: UInt64 { detector.evictions }
    public var slowScanSources: Int { detector.slowScanSources }
    public var slowScanEvictions: UInt64 { detector.slowScanEvictions }
    public var reservedBytes: Int { detector.reservedBytes + waiting.capacity * MemoryLayout<Waiting>.stride }
}
