import LightScopeCapture
import LightScopeCore
import LightScopeSystemd
import Synchronization

/// The pipeline behind one capture loop: decode -> detect -> sink, on the loop's thread.
/// Host facts (addresses, listening ports) arrive from the runner through a mailbox and are
/// applied on the next tick, so the engine itself needs no locks.
final class DetectionConsumer: PacketConsumer, @unchecked Sendable {
    private let engine: DetectionEngine
    private let counters: InterfaceCounters
    private let sink: EventSink
    private let mailbox = Mutex<HostFacts?>(nil)
    private var episodes = EvictionEpisodes()
    private var rejections = [UInt64](repeating: 0, count: DecodeRejection.allCases.count)
    private let publishedState = Mutex<Published?>(nil)
    private let budgetMiB: Int

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

    init(interface: String, settings: Settings.Detection, facts: HostFacts, counters: InterfaceCounters, sink: EventSink) {
        // Timers on the monotonic clock: a step of the wall clock, which stamps the packets,
        // must not freeze or rush expiry.
        engine = DetectionEngine(interface: interface, settings: settings,
                                 localAddresses: LocalAddresses(addresses: facts.addresses ?? []),
                                 budget: Self.budget(for: settings), clock: .monotonic)
        if let listening = facts.listening { engine.updateListeningPorts(listening) }
        self.counters = counters
        self.sink = sink
        budgetMiB = settings.memoryBudgetMiB
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
            engine.process(packet, timeNanos: timestampNanos, emit: emit, lost: lose)
        } catch {
            rejections[error.rawValue] &+= 1
        }
    }

    func tick(monotonicNanos: UInt64, wallClockNanos: UInt64) {
        if let facts = mailbox.withLock({ pending -> HostFacts? in defer { pending = nil }; return pending }) {
            if let addresses = facts.addresses { engine.updateLocalAddresses(addresses) }
            if let listening = facts.listening { engine.updateListeningPorts(listening) }
        }
        engine.advance(monotonicNanos: monotonicNanos, wallClockNanos: wallClockNanos, emit: emit)
        let state = engine.state
        if let (level, line) = episodes.check(state, monotonicNanos: monotonicNanos, interface: engine.interface,
                                              budgetMiB: budgetMiB) {
            if level == .warning { Log.warning(line) } else { Log.notice(line) }
        }
        var malformed: UInt64 = 0
        for reason in DecodeRejection.allCases where reason.isMalformed { malformed &+= rejections[reason.rawValue] }
        let latest = Published(detection: state, malformed: malformed)
        publishedState.withLock { $0 = latest }
    }

    func flush(wallClockNanos: UInt64) {
        engine.advance(monotonicNanos: MonotonicClock.nowNanos(), wallClockNanos: wallClockNanos, emit: emit)
        engine.finish(emit: emit)
    }

    /// A probe the engine let go (its table full): counted in its state's `probeEvictions`,
    /// and named when the episode is logged.
    private func lose(_ probe: LostProbe) {
        episodes.lost(probe)
    }

    private func emit(_ event: UnwantedEvent) {
        if event.verdict == .closed || event.verdict == .unanswered { counters.addUnwanted(1) }
        sink.submit(event)
    }
}
