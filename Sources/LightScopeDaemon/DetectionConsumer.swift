import LightScopeCapture
import LightScopeCore
import Synchronization

/// The pipeline behind one capture loop: decode -> detect -> sink, on the loop's thread.
/// Host facts (addresses, listening ports) arrive from the runner through a mailbox and are
/// applied on the next tick, so the engine itself needs no locks.
final class DetectionConsumer: PacketConsumer, @unchecked Sendable {
    private let engine: DetectionEngine
    private let counters: InterfaceCounters
    private let sink: EventSink
    private let lost: LostEvents
    /// The engine's probe evictions already counted as lost events.
    private var countedProbeEvictions: UInt64 = 0
    private let mailbox = Mutex<HostFacts?>(nil)
    private var rejections = [UInt64](repeating: 0, count: DecodeRejection.allCases.count)
    private let publishedState = Mutex<Published?>(nil)
    /// Set when the runner gave this loop up, its pending probes counted lost: should the
    /// loop come back to life, what it reports was counted already.
    private let abandoned = Atomic<Bool>(false)

    /// What the runner reads for status and metrics, refreshed on every tick.
    struct Published: Sendable {
        var detection: DetectionState
        /// Packets rejected as malformed (non-IP traffic is not counted).
        var malformed: UInt64
    }

    /// What the runner learns about the host, for every loop's engine.
    struct HostFacts: Sendable {
        var addresses: Set<IPAddress>?
        var listening: ListeningPorts?
    }

    init(interface: String, settings: Settings.Detection, facts: HostFacts, counters: InterfaceCounters, sink: EventSink,
         lost: LostEvents) {
        engine = DetectionEngine(interface: interface, settings: settings,
                                 localAddresses: LocalAddresses(addresses: facts.addresses ?? []))
        if let listening = facts.listening { engine.updateListeningPorts(listening) }
        self.counters = counters
        self.sink = sink
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
            let packet = try PacketDecoder.decode(bytes, linkType: linkType)
            engine.process(packet, timeNanos: timestampNanos, emit: emit)
        } catch {
            rejections[error.rawValue] &+= 1
        }
    }

    func tick(monotonicNanos: UInt64, wallClockNanos: UInt64) {
        if let facts = mailbox.withLock({ pending -> HostFacts? in defer { pending = nil }; return pending }) {
            if let addresses = facts.addresses { engine.updateLocalAddresses(addresses) }
            if let listening = facts.listening { engine.updateListeningPorts(listening) }
        }
        engine.advance(toNanos: wallClockNanos, emit: emit)
        publish()
    }

    func flush(wallClockNanos: UInt64) {
        engine.advance(toNanos: wallClockNanos, emit: emit)
        engine.finish(emit: emit)
        publish()
    }

    /// Counts new probe evictions as lost events, and shows the engine's state to the runner.
    private func publish() {
        let state = engine.state
        lost.add(state.probeEvictions &- countedProbeEvictions, .eviction)
        countedProbeEvictions = state.probeEvictions
        var malformed: UInt64 = 0
        for reason in DecodeRejection.allCases where reason.isMalformed { malformed &+= rejections[reason.rawValue] }
        let latest = Published(detection: state, malformed: malformed)
        publishedState.withLock { $0 = latest }
    }

    /// The runner has counted what this pipeline holds as lost: it reports nothing more.
    func abandon() {
        abandoned.store(true, ordering: .relaxed)
    }

    private func emit(_ event: UnwantedEvent) {
        guard !abandoned.load(ordering: .relaxed) else { return }
        if event.verdict == .closed || event.verdict == .unanswered { counters.addUnwanted(1) }
        sink.submit(event)
    }
}
