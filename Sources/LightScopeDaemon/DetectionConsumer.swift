import LightScopeCapture
import LightScopeCore
import LightScopeSystem
import LightScopeSystemd
import Synchronization

/// The pipeline behind one capture loop: decode -> detect -> sink, on the loop's thread.
/// Host facts (addresses, listening ports) arrive from the runner through a mailbox and are
/// applied on the next tick, so the engine itself needs no locks.
final class DetectionConsumer: PacketConsumer, @unchecked Sendable {
    private let engine: DetectionEngine
    private var reassembler: FragmentReassembler
    /// The decoded packets of the ring drain under way, processed when it ends (`dispatchEnded`).
    private let batch = DecodedPacketBatch()
    private let counters: InterfaceCounters
    private let sink: EventSink
    private let lost: LostEvents
    private let mailbox = Mutex<HostFacts?>(nil)
    private var rejections = [UInt64](repeating: 0, count: DecodeRejection.allCases.count)
    private let publishedState = Mutex<Published?>(nil)
    /// Set when the runner gave this loop up, its pending probes counted lost: should the
    /// loop come back to life, what it reports was counted already.
    private let abandoned = Atomic<Bool>(false)
    /// The interface's scans, when its loops share them (`[capture] threads` above 1): the
    /// engine then leaves scans to it, and its failures wait here for the next handover.
    private let sharedScans: SharedScanDetection?
    /// Whether this loop's published state carries the shared scans' figures (one loop does).
    private let publishesSharedScans: Bool
    private var failures: [SharedScanDetection.Failure] = []
    /// The loops of this interface that take reports out of their tables at once: each
    /// may fill its share of the event queue's room, not all of it.
    private let roomShares: Int
    /// When what the engine reports now was reported: the capture time of the packet being
    /// processed, or the wall clock of the timer run (the order the shared scans count in).
    private var reportingNanos: UInt64 = 0
    /// Failures handed to the shared scans at once: the lock is taken once per this many, and
    /// once per wake-up for the rest.
    static let failuresPerHandover = 256
    /// The sink when it is the daemon's tally: the events' counts then wait here, with the
    /// interface's unwanted count, and are handed over once per ring drain and timer run
    /// (`handOverCounts`), not under a lock and an atomic per event.
    private let tally: EventTally?
    @exclusivity(unchecked) private var tallied = EventTally.Batch()
    @exclusivity(unchecked) private var unwantedNotCounted: UInt64 = 0
    /// Events handed over at once: the lock is taken once per this many, and once per ring
    /// drain and timer run for the rest; few enough to stay in the L1 cache (64 x 176 bytes).
    static let eventsPerHandover = 64
    /// The events reported since the last hand-over, in order: handed to the sink together
    /// (`handOverEvents`), which then takes its locks once for them, not once per event.
    @exclusivity(unchecked) private var reported = EventHandOverBuffer(capacity: DetectionConsumer.eventsPerHandover)

    /// What the runner reads for status and metrics, refreshed on every tick.
    struct Published: Sendable {
        var detection: DetectionState
        /// Packets rejected as malformed (non-IP traffic is not counted).
        var malformed: UInt64
        var fragments: FragmentCounters
    }

    /// What the runner learns about the host, for every loop's engine.
    struct HostFacts: Sendable {
        var addresses: Set<IPAddress>?
        var listening: ListeningPorts?
    }

    /// The daemon's one detection budget (`memory_budget_mib`), which every packet loop's
    /// engine draws on, however many interfaces (or, later, loops per interface) there
    /// are: made for the first loop, and again only when the setting changes (a reload,
    /// which reopens every loop).
    private static let daemonBudget = Mutex<DetectionBudget?>(nil)

    static func budget(for settings: Settings.Detection) -> DetectionBudget {
        daemonBudget.withLock { current in
            if let current, current.memoryBudgetMiB == settings.memoryBudgetMiB { return current }
            let fresh = DetectionBudget(settings: settings)
            current = fresh
            return fresh
        }
    }

    /// - Parameters:
    ///   - sharedScans: the scans of the interface's loops together, or nil: this loop's
    ///     engine counts them itself (one loop per interface).
    ///   - publishesSharedScans: this loop's status carries the shared scans' figures.
    init(interface: String, settings: Settings.Detection, facts: HostFacts, counters: InterfaceCounters, sink: EventSink,
         lost: LostEvents, sharedScans: SharedScanDetection? = nil, publishesSharedScans: Bool = false, roomShares: Int = 1) {
        let budget = Self.budget(for: settings)
        // Timers on the monotonic clock: a step of the wall clock, which stamps the packets,
        // must not freeze or rush expiry.
        engine = DetectionEngine(interface: interface, settings: settings,
                                 localAddresses: LocalAddresses(addresses: facts.addresses ?? []),
                                 budget: budget, scans: sharedScans == nil ? .inEngine : .byCaller, clock: .monotonic)
        self.sharedScans = sharedScans
        self.publishesSharedScans = publishesSharedScans
        self.roomShares = max(1, roomShares)
        if sharedScans != nil { failures.reserveCapacity(Self.failuresPerHandover) }
        if let listening = facts.listening { engine.updateListeningPorts(listening) }
        reassembler = FragmentReassembler(budget: budget)
        self.counters = counters
        self.sink = sink
        tally = sink as? EventTally
        self.lost = lost
    }

    /// Called by the runner thread; applied by the loop thread on its next tick.
    func post(_ facts: HostFacts) {
        mailbox.withLock { pending in
            var merged = pending ?? HostFacts()
            if let addresses = facts.addresses { merged.addresses = addresses }
            if let listening = facts.listening { merged.listening = listening }
            pending = merged
        }
    }

    /// The engine's table sizes and the decoder's rejections as of the last tick.
    var published: Published? { publishedState.withLock { $0 } }

    func consume(bytes: UnsafeRawBufferPointer, wireLength: Int, timestampNanos: UInt64, linkType: Int32) {
        do {
            // Decoded into the batch's next slot, not copied there (`DecodedPacketBatch.nextSlot`).
            let slot = batch.nextSlot
            try PacketDecoder.decode(bytes, linkType: linkType, into: slot)
            if case .tcpFragment(let piece) = slot.pointee.transport {
                // Reassembly reads `bytes`, valid only now: the packets held back go first,
                // and the slot moves to the front of the emptied batch.
                let packet = slot.pointee
                processBatch()
                guard let whole = try reassembler.add(piece, of: packet, bytes: bytes, timeNanos: timestampNanos) else { return }
                batch.nextSlot.initialize(to: whole)
            }
            if batch.commit(timeNanos: timestampNanos) { processBatch() }
        } catch {
            rejections[error.rawValue] &+= 1
        }
    }

    func dispatchEnded() { processBatch() }

    /// The packets held back, through the engine in order, their lookups prefetched ahead.
    private func processBatch() {
        guard !batch.isEmpty else { return }
        batch.drain(prefetch: { engine.prefetch(at: $0) }) { packet, timeNanos in
            // A failure is reported at its own packet's time, not the drain's last: the shared
            // scans put the loops' failures in that order.
            reportingNanos = timeNanos
            // Closures, not the methods themselves (`emit: emit`): a method passed as a value
            // is a partial application that retained and released `self` for every packet.
            engine.process(packet, timeNanos: timeNanos, emit: { emit($0) }, lost: { lose($0) })
        }
        handOverCounts()
    }

    func tick(monotonicNanos: UInt64, wallClockNanos: UInt64) {
        processBatch()
        if let facts = mailbox.withLock({ pending -> HostFacts? in defer { pending = nil }; return pending }) {
            if let addresses = facts.addresses { engine.updateLocalAddresses(addresses) }
            if let listening = facts.listening { engine.updateListeningPorts(listening) }
        }
        // Probes past their timeout wait in the table while the event queue is full, and are
        // reported as it empties, rather than dropped by it.
        engine.allowReports(sink.room / roomShares)
        reportingNanos = wallClockNanos
        engine.advance(monotonicNanos: monotonicNanos, wallClockNanos: wallClockNanos, emit: emit)
        handOverFailures()
        sharedScans?.advance(monotonicNanos: monotonicNanos, wallClockNanos: wallClockNanos, emit: emitScan)
        handOverCounts()
        reassembler.expire(toNanos: wallClockNanos)
        publish()
    }

    func flush(wallClockNanos: UInt64, beat: () -> Void) {
        processBatch()
        var reported = 0
        let emitAndBeat = { (event: UnwantedEvent) in
            self.emit(event)
            reported &+= 1
            if reported % Self.eventsPerFlushBeat == 0 { beat() }
        }
        reportingNanos = wallClockNanos
        engine.advance(monotonicNanos: MonotonicClock.nowNanos(), wallClockNanos: wallClockNanos, emit: emitAndBeat)
        engine.finish(emit: emitAndBeat)
        handOverFailures()
        sharedScans?.finish(emit: emitScan)
        handOverCounts()
        publish()
    }

    /// How often a flush shows progress: often enough that a large table's flush on a slow
    /// machine never looks hung, rarely enough to cost nothing.
    static let eventsPerFlushBeat = 1024

    /// Shows the engine's state to the runner.
    private func publish() {
        var state = engine.state
        if publishesSharedScans { sharedScans?.addFigures(to: &state) }
        var malformed: UInt64 = 0
        for reason in DecodeRejection.allCases where reason.isMalformed { malformed &+= rejections[reason.rawValue] }
        let latest = Published(detection: state, malformed: malformed, fragments: reassembler.counters)
        publishedState.withLock { $0 = latest }
    }

    /// The runner has counted what this pipeline holds as lost: it reports nothing more.
    func abandon() {
        abandoned.store(true, ordering: .relaxed)
    }

    /// A probe the engine let go (its table full): a lost event, counted once, here (the
    /// runner logs the episode). An abandoned loop's probes were counted lost already.
    private func lose(_ probe: LostProbe) {
        guard !abandoned.load(ordering: .relaxed) else { return }
        lost.add(1, .eviction)
    }

    private func emit(_ event: UnwantedEvent) {
        // Copied into the hand-over buffer's next slot before anything else, and read there:
        // read after a call or an atomic, the event was first copied to this frame (173
        // bytes, a memcpy call for every event), then into the buffer.
        let slot = reported.nextSlot
        slot.initialize(to: event)
        // An abandoned loop's slot is left unclaimed.
        guard !abandoned.load(ordering: .relaxed) else { return }
        let verdict = slot.pointee.verdict
        if verdict == .closed || verdict == .unanswered { unwantedNotCounted &+= 1 }
        let isSharedFailure = sharedScans != nil && ScanDetector.isFailure(verdict)
        if isSharedFailure {
            failures.append(SharedScanDetection.Failure(reportedNanos: reportingNanos, event: slot.pointee))
        }
        // The events' hand-over before the failures': a scan that a failure completes
        // follows the events reported before it.
        if reported.claimNextSlot() { handOverEvents() }
        if isSharedFailure && failures.count >= Self.failuresPerHandover { handOverFailures() }
    }

    /// The counts of the events reported since the last hand-over, to the tally and the
    /// interface's counters.
    private func handOverCounts() {
        handOverEvents()
        if unwantedNotCounted > 0 {
            counters.addUnwanted(unwantedNotCounted)
            unwantedNotCounted = 0
        }
        tally?.add(&tallied)
    }

    /// Hands the events reported since the last hand-over to the sink, in one call.
    private func handOverEvents() {
        guard !reported.isEmpty else { return }
        let events = reported.events
        if let tally { tally.submit(contentsOf: events, countingIn: &tallied) } else { sink.submit(contentsOf: events) }
        reported.removeAll()
    }

    /// Hands the failures waiting here to the shared scans.
    private func handOverFailures() {
        guard let sharedScans, !failures.isEmpty else { return }
        var batch: [SharedScanDetection.Failure] = []
        swap(&batch, &failures)
        sharedScans.add(batch, emit: emitScan)
        batch.removeAll(keepingCapacity: true)
        swap(&batch, &failures)
    }

    /// A scan event of the shared scans, whichever loop's failure completed it.
    private func emitScan(_ event: UnwantedEvent) {
        guard !abandoned.load(ordering: .relaxed) else { return }
        // After the probes' events reported before it, as they were.
        handOverEvents()
        sink.submit(event)
    }
}
