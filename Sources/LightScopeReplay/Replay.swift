import LightScopeCapture
@_spi(Replay) import LightScopeCore
import CPrefetch

/// `lightscope replay`: the live detection engine over a capture file, driven by the
/// capture's own timestamps, so the same file always gives the same events.
public struct Replay {
    public var path: String
    public var json: Bool
    /// The capture's local addresses; empty: learn them from who answers connection attempts.
    public var local: [IPPrefix]
    public var settings: Settings.Detection
    /// The process ends right after this replay (`lightscope replay`): its detection tables
    /// and tallies are then left to the kernel to reclaim at exit, not freed one by one,
    /// which for a large capture's tables is a visible share of the run after the work was
    /// done (the reason compilers skip their own frees on the way out too). Off by default, so a
    /// long-lived caller (the tests) frees everything.
    public var processExitsAfterwards: Bool
    /// Shown while the file is read (a terminal's); nil: silent.
    public var progress: ReplayProgress?

    public init(path: String, json: Bool, local: [IPPrefix], settings: Settings.Detection,
                processExitsAfterwards: Bool = false, progress: ReplayProgress? = nil) {
        self.path = path
        self.json = json
        self.local = local
        self.settings = settings
        self.processExitsAfterwards = processExitsAfterwards
        self.progress = progress
    }

    /// Replays the file, writing JSON lines or the summary through `write`.
    /// Throws when the file cannot be opened; a damaged file is reported after everything
    /// readable in it has been processed.
    public func run(write: (String) -> Void) throws(DaemonError) -> ReplaySummary {
        let reader = try PcapFileReader(path: path)
        return withoutActuallyEscaping(write) { write in replay(reader, write: write) }
    }

    /// What the IPv4 tables start with: the benchmark's capture keeps about 100,000 probes
    /// pending, and a table that starts small copies itself at each doubling on the way.
    static let initialIPv4Entries = 1 << 17

    /// Packets per batch handed to the detection thread, and events per batch handed to the
    /// scan and tally thread; batches at once (see `OffloadedConsumer`).
    static let packetBatchSize = 4096
    static let eventBatchSize = 4096
    static let batchesInFlight = 16
    /// How many packets (events) ahead of the one being processed the detection (scan)
    /// thread prefetches: enough for several cache misses to overlap.
    static let prefetchDistance = 16
    /// How many packets ahead the detection thread starts loading the batch itself, which
    /// the reading thread wrote on the other core: far enough that the copy has arrived by
    /// the time `prefetchDistance` reads the packet.
    static let batchPrefetchDistance = 40

    /// Three threads, one stage each, in file order: the calling thread reads the file and
    /// decodes each packet where it lies in the read buffer (`PcapFileReader`); the detection
    /// thread runs the engine on the probes; the third counts scans from the failures the
    /// engine reports (`ScanDetector`, run where the engine would run it, see
    /// `ScanDetection.byCaller`), tallies every event and writes JSON. Each stage sees
    /// everything in the order the one before produced it, so the events are those of one
    /// thread doing it all (`ReplayPipelineTests` compares the two).
    /// `write` only escapes to the third thread, which has ended when this returns.
    private func replay(_ reader: PcapFileReader, write: @escaping (String) -> Void) -> ReplaySummary {
        let localAddresses = local.isEmpty ? LocalAddresses.learnedFromAnswers() : LocalAddresses(prefixes: local)
        let budget = DetectionBudget(settings: settings, initialIPv4Entries: Self.initialIPv4Entries)
        let engine = DetectionEngine(interface: "pcap", settings: settings, localAddresses: localAddresses, budget: budget,
                                     scans: .byCaller)
        let json = json
        // Each thread's state behind a pointer, as `DetectionEngine` keeps its own: a captured
        // `var` that a closure changes gets a dynamic exclusivity check on every access.
        // `tally` and `scans` are the third thread's until `events` has finished; `events`
        // the detection thread's until `packetsToDetect` has finished.
        let tally = UnsafeMutablePointer<ReplaySummary>.allocate(capacity: 1)
        tally.initialize(to: ReplaySummary())
        let scans = UnsafeMutablePointer<ScanDetector>.allocate(capacity: 1)
        scans.initialize(to: ScanDetector(interface: engine.interfaceName, settings: settings, budget: budget))
        let events = UnsafeMutablePointer<ReplayEvents>.allocate(capacity: 1)
        if json {
            events.initialize(to: ReplayEvents(whole: OffloadedConsumer(
                name: "lightscope-tally", batchSize: Self.eventBatchSize, batchesInFlight: Self.batchesInFlight, consumeBatch: { batch in
                    func tallyAndWrite(_ event: UnwantedEvent) {
                        tally.pointee.add(TalliedEvent(event))
                        write(EventJSON.encode(EventRecord(event)))
                    }
                    for index in batch.indices {
                        switch batch[index] {
                        case .event(let event):
                            tallyAndWrite(event)
                            guard ScanDetector.isFailure(event.verdict), let destination = event.destination,
                                  let port = event.destinationPort else { continue }
                            scans.pointee.recordFailure(source: event.source, destination: destination, port: port, proto: event.proto,
                                                        timeNanos: event.timeNanos, tool: event.tool, tcpFlags: event.tcpFlags,
                                                        emit: tallyAndWrite)
                        case .timersRan(let nowNanos):
                            scans.pointee.timersRan(atNanos: nowNanos)
                        }
                    }
                })))
        } else {
            events.initialize(to: ReplayEvents(tallied: OffloadedConsumer(
                name: "lightscope-tally", batchSize: Self.eventBatchSize, batchesInFlight: Self.batchesInFlight, consumeBatch: { batch in
                    func tallyScan(_ event: UnwantedEvent) { tally.pointee.add(TalliedEvent(event)) }
                    for index in batch.indices {
                        // What a few events on will change starts loading now (see `DetectionEngine.prefetch`).
                        if index + Self.prefetchDistance < batch.count, case .event(let ahead) = batch[index + Self.prefetchDistance] {
                            scans.pointee.prefetch(source: ahead.source)
                            tally.pointee.prefetch(ahead)
                        }
                        switch batch[index] {
                        case .event(let event):
                            tally.pointee.add(event)
                            guard ScanDetector.isFailure(event.verdict), let port = event.destinationPort else { continue }
                            scans.pointee.recordFailure(source: event.source, destination: event.destination, port: port,
                                                        proto: event.proto, timeNanos: event.timeNanos, tool: event.tool,
                                                        tcpFlags: event.tcpFlags, emit: tallyScan)
                        case .timersRan(let nowNanos):
                            scans.pointee.timersRan(atNanos: nowNanos)
                        }
                    }
                })))
        }
        func emit(_ event: UnwantedEvent) { events.pointee.send(event) }
        func lose(_ probe: LostProbe) { events.pointee.lostProbes &+= 1 }
        func advance(toNanos nowNanos: UInt64) {
            engine.advance(toNanos: nowNanos, emit: emit)
            events.pointee.timersRan(atNanos: nowNanos)
        }
        // The calling thread's: what it has read, and the detection thread it feeds.
        let reading = UnsafeMutablePointer<ReadProgress>.allocate(capacity: 1)
        reading.initialize(to: ReadProgress(reassembler: FragmentReassembler(budget: budget), packetsToDetect: OffloadedConsumer(
            name: "lightscope-detect", batchSize: Self.packetBatchSize, batchesInFlight: Self.batchesInFlight, consumeBatch: { batch in
                // Each packet's table lookups start `prefetchDistance` packets before it is
                // processed, so that the cache misses of several packets overlap (see
                // `DetectionEngine.prefetch`), and the packet itself `batchPrefetchDistance`
                // before; packets still reach the engine one by one, in order.
                batch.withUnsafeBufferPointer { packets in
                    for index in packets.indices {
                        if index + Self.batchPrefetchDistance < packets.count {
                            let ahead = UnsafeRawPointer(packets.baseAddress! + index + Self.batchPrefetchDistance)
                            lightscope_prefetch(ahead)
                            lightscope_prefetch(ahead + MemoryLayout<PacketToDetect>.stride - 1)
                        }
                        if index + Self.prefetchDistance < packets.count, let ahead = packets[index + Self.prefetchDistance].packet {
                            engine.prefetch(ahead)
                        }
                        // The timers first, as `process` would run them, and then the scan stage
                        // is told: it forgets windows exactly where the engine would have.
                        let timeNanos = packets[index].timeNanos
                        if engine.timersAreDue(atNanos: timeNanos) { advance(toNanos: timeNanos) }
                        if let packet = packets[index].packet { engine.process(packet, timeNanos: timeNanos, emit: emit, lost: lose) }
                    }
                }
            })))
        defer {
            if processExitsAfterwards {
                // Kept until exit on purpose (see `processExitsAfterwards`): the engine, and
                // the tallies behind `tally`, which the returned summary shares.
                KeptUntilExit.keep(engine, memory: [UnsafeMutableRawPointer(tally), UnsafeMutableRawPointer(scans),
                                                    UnsafeMutableRawPointer(events), UnsafeMutableRawPointer(reading)])
            } else {
                reading.deinitialize(count: 1)
                reading.deallocate()
                events.deinitialize(count: 1)
                events.deallocate()
                scans.deinitialize(count: 1)
                scans.deallocate()
                tally.deinitialize(count: 1)
                tally.deallocate()
            }
        }
        let linkType = reader.linkType
        let triage = PacketTriage(linkType: linkType)
        // Told the packet count only when the engine's timers run (every 100 ms of capture
        // time): a test on a flag this thread computes anyway, after `send` (a store before it
        // made the compiler reload the batch's state on every packet). Reached through
        // `reading`, not captured: a larger closure context slowed the loop as well.
        reading.pointee.progress = progress
        progress?.start()
        let damage = reader.forEachPacket { bytes, _, timestamp in
            reading.pointee.packets &+= 1
            if timestamp > reading.pointee.lastTimestamp { reading.pointee.lastTimestamp = timestamp }
            // Established TCP (most of a real capture) needs no decoding: only its time counts,
            // and only when it runs the engine's timers, so most such packets need not reach
            // the engine at all. This thread follows the timers exactly: until the end of the
            // file they run on the times of the packets handed over alone (the detection
            // thread advances the engine to such a time only when it runs them), and every
            // packet the engine is not handed would not have run them.
            if triage.isEstablishedTCP(bytes) {
                guard reading.pointee.timers.runIfDue(atNanos: timestamp) else { return }
                reading.pointee.progress?.publish(packets: reading.pointee.packets)
                reading.pointee.packetsToDetect.send(PacketToDetect(packet: nil, timeNanos: timestamp))
                return
            }
            let packet: DecodedPacket
            do {
                packet = try PacketDecoder.decode(bytes, linkType: linkType)
            } catch {
                reading.pointee.undecodable &+= 1
                return
            }
            if reading.pointee.timers.runIfDue(atNanos: timestamp) { reading.pointee.progress?.publish(packets: reading.pointee.packets) }
            if case .tcpFragment = packet.transport {
                reading.pointee.sendReassembled(bytes: bytes, linkType: linkType, timeNanos: timestamp)
                return
            }
            reading.pointee.packetsToDetect.send(PacketToDetect(packet: packet, timeNanos: timestamp))
        }
        reading.pointee.progress?.stop()
        // The detection thread has ended: the engine and the events are this thread's now.
        reading.pointee.packetsToDetect.finish()
        // Pending probes are resolved as if time ran on past the last packet.
        advance(toNanos: reading.pointee.lastTimestamp)
        engine.finish(emit: emit)
        events.pointee.finish()
        var summary = tally.pointee
        summary.packets = reading.pointee.packets
        summary.undecodable = reading.pointee.undecodable
        summary.probes = engine.counters.probes
        summary.lostProbes = events.pointee.lostProbes
        summary.scanSourceEvictions = scans.pointee.evictions
        summary.slowScanEvictions = scans.pointee.slowScanEvictions
        summary.damage = damage
        summary.localAddresses = engine.localAddresses.exact.count
        summary.fragments = reading.pointee.reassembler.counters
        if !json { write(summary.report(path: path, learnedLocal: local.isEmpty)) }
        return summary
    }
}

/// What a replay's reading thread updates as it goes.
struct ReadProgress {
    var packets: UInt64 = 0
    var undecodable: UInt64 = 0
    var lastTimestamp: UInt64 = 0
    /// The engine's timers, as the packet times it is handed run them.
    var timers = PacketDrivenTimers()
    /// Puts together TCP headers split across fragments, before detection sees them.
    var reassembler: FragmentReassembler
    var packetsToDetect: OffloadedConsumer<PacketToDetect>
    /// Shown on a terminal, told the packet count when the timers run.
    var progress: ReplayProgress?

    /// Sends on the header that a packet holding a piece of a fragmented TCP header completes,
    /// or else the piece itself (its time still runs the timers); a completed header that does
    /// not decode counts as undecodable. Out of line, and the packet decoded again here: pieces
    /// are rare, and the reading loop, which sees every packet, stays as short as it was.
    @inline(never)
    mutating func sendReassembled(bytes: UnsafeRawBufferPointer, linkType: Int32, timeNanos: UInt64) {
        guard let packet = try? PacketDecoder.decode(bytes, linkType: linkType), case .tcpFragment(let piece) = packet.transport
        else { return }
        var whole: DecodedPacket?
        do {
            whole = try reassembler.add(piece, of: packet, bytes: bytes, timeNanos: timeNanos)
        } catch {
            undecodable &+= 1
        }
        packetsToDetect.send(PacketToDetect(packet: whole ?? packet, timeNanos: timeNanos))
    }
}

/// Where detection's events go: to the tally thread, whole when they are written as JSON,
/// else only what the summary counts (`TalliedEvent`).
struct ReplayEvents {
    // Exactly one is set. Two optionals, not an enum with payloads: `send` appends through
    // optional chaining in place, where taking a payload out of an enum would share the
    // consumer's batch array and copy it on the append.
    private var tallied: OffloadedConsumer<DetectionOutput<TalliedEvent>>?
    private var whole: OffloadedConsumer<DetectionOutput<UnwantedEvent>>?
    /// Probes the engine let go before their verdict (its table was full): lost events.
    var lostProbes: UInt64 = 0

    init(tallied: OffloadedConsumer<DetectionOutput<TalliedEvent>>) { self.tallied = tallied }
    init(whole: OffloadedConsumer<DetectionOutput<UnwantedEvent>>) { self.whole = whole }

    mutating func send(_ event: UnwantedEvent) {
        if tallied != nil { tallied?.send(.event(TalliedEvent(event))) } else { whole?.send(.event(event)) }
    }

    mutating func timersRan(atNanos nowNanos: UInt64) {
        if tallied != nil { tallied?.send(.timersRan(atNanos: nowNanos)) } else { whole?.send(.timersRan(atNanos: nowNanos)) }
    }

    mutating func finish() {
        tallied?.finish()
        whole?.finish()
    }
}

/// What the detection thread hands the third: an event, or the time the engine's timers
/// ran, after the events they gave (the scan stage forgets its windows then).
enum DetectionOutput<Event> {
    case event(Event)
    case timersRan(atNanos: UInt64)
}

/// What `ReplaySummary` counts of an event, and what `ScanDetector` needs of a failure
/// (48 bytes of the event's 176 to hand between threads).
struct TalliedEvent {
    var source: IPAddress
    /// `::` when the event names none (an `addrscan`).
    var destination: IPAddress
    var timeNanos: UInt64
    var destinationPort: UInt16?
    var verdict: Verdict
    var proto: TransportProtocol
    /// For the scan events the tally thread makes from it.
    var tool: ScanTool
    var tcpFlags: TCPFlags?

    init(_ event: UnwantedEvent) {
        source = event.source
        destination = event.destination ?? IPAddress(high: 0, low: 0)
        timeNanos = event.timeNanos
        destinationPort = event.destinationPort
        verdict = event.verdict
        proto = event.proto
        tool = event.tool
        tcpFlags = event.tcpFlags
    }
}

/// A packet on its way to detection: decoded, or nil when `PacketTriage` found it needs no
/// decoding and its time runs the engine's timers (it must reach the engine in order too).
struct PacketToDetect {
    var packet: DecodedPacket?
    var timeNanos: UInt64
}
