import CPrefetch
import LightScopeCapture
@_spi(Replay) import LightScopeCore

/// One stage's state behind a pointer, as `DetectionEngine` keeps its own: a captured `var`
/// that a closure changes gets a dynamic exclusivity check on every access. Made with the
/// stage, released by it when the replay ends.
struct StageState<Value> {
    let pointer: UnsafeMutablePointer<Value>

    init(_ value: Value) {
        pointer = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        pointer.initialize(to: value)
    }

    /// Frees it, or leaves it to the kernel at exit (`Replay.processExitsAfterwards`).
    func release(keptUntilExit: Bool) {
        if keptUntilExit {
            KeptUntilExit.keep(memory: [UnsafeMutableRawPointer(pointer)])
        } else {
            pointer.deinitialize(count: 1)
            pointer.deallocate()
        }
    }
}

/// The first stage, on the calling thread: reads the file, decodes what needs decoding and
/// hands it to detection.
struct ReadStage {
    let state: StageState<ReadProgress>

    init(reassembler: FragmentReassembler, packetsToDetect: OffloadedConsumer<PacketToDetect>) {
        state = StageState(ReadProgress(reassembler: reassembler, packetsToDetect: packetsToDetect))
    }

    /// Every packet of the file, then the end of the detection thread; returns the damage
    /// libpcap reported, if the file ended badly.
    func read(_ reader: PcapFileReader, progress: ReplayProgress?) -> String? {
        let reading = state.pointer
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
                reading.pointee.packetsToDetect.send(PacketToDetect(timersAtNanos: timestamp))
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
        reading.pointee.packetsToDetect.finish()
        return damage
    }

    func release(keptUntilExit: Bool) { state.release(keptUntilExit: keptUntilExit) }
}

/// The second stage, on a thread of its own: the engine, over the packets the first hands it,
/// handing its events to the third.
struct DetectionStage {
    let engine: DetectionEngine
    let events: StageState<ReplayEvents>

    init(engine: DetectionEngine, events: ReplayEvents) {
        self.engine = engine
        self.events = StageState(events)
    }

    /// The detection thread, fed by the reading stage.
    func consumer() -> OffloadedConsumer<PacketToDetect> {
        let engine = engine
        let events = events.pointer
        func emit(_ event: UnwantedEvent) { events.pointee.send(event) }
        func lose(_ probe: LostProbe) { events.pointee.lostProbes &+= 1 }
        func advance(toNanos nowNanos: UInt64) {
            engine.advance(toNanos: nowNanos, emit: emit)
            events.pointee.timersRan(atNanos: nowNanos)
        }
        return OffloadedConsumer(
            name: "lightscope-detect", batchSize: Replay.packetBatchSize, batchesInFlight: Replay.batchesInFlight, consumeBatch: { batch in
                // Each packet's table lookups start `prefetchDistance` packets before it is
                // processed, so that the cache misses of several packets overlap (see
                // `DetectionEngine.prefetch`), and the packet itself `batchPrefetchDistance`
                // before; packets still reach the engine one by one, in order.
                batch.withUnsafeBufferPointer { packets in
                    for index in packets.indices {
                        if index + Replay.batchPrefetchDistance < packets.count {
                            let ahead = UnsafeRawPointer(packets.baseAddress! + index + Replay.batchPrefetchDistance)
                            lightscope_prefetch(ahead)
                            lightscope_prefetch(ahead + MemoryLayout<PacketToDetect>.stride - 1)
                        }
                        if index + Replay.prefetchDistance < packets.count, packets[index + Replay.prefetchDistance].hasPacket {
                            engine.prefetch(at: PacketToDetect.packetAddress(packets.baseAddress! + index + Replay.prefetchDistance))
                        }
                        // The timers first, as `process` would run them, and then the scan stage
                        // is told: it forgets windows exactly where the engine would have.
                        let timeNanos = packets[index].timeNanos
                        if engine.timersAreDue(atNanos: timeNanos) { advance(toNanos: timeNanos) }
                        if packets[index].hasPacket { engine.process(packets[index].packet, timeNanos: timeNanos, emit: emit, lost: lose) }
                    }
                }
            })
    }

    /// After the detection thread has ended: pending probes are resolved as if time ran on
    /// past the last packet, and the third stage ends once it has had every event.
    func finish(atNanos lastNanos: UInt64) {
        let events = events.pointer
        func emit(_ event: UnwantedEvent) { events.pointee.send(event) }
        engine.advance(toNanos: lastNanos, emit: emit)
        events.pointee.timersRan(atNanos: lastNanos)
        engine.finish(emit: emit)
        events.pointee.finish()
    }

    /// What the summary says of detection.
    func count(into summary: inout ReplaySummary) {
        summary.probes = engine.counters.probes
        summary.lostProbes = events.pointer.pointee.lostProbes
        summary.localAddresses = engine.localAddresses.exact.count
    }

    func release(keptUntilExit: Bool) {
        if keptUntilExit { KeptUntilExit.keep(engine) }
        events.release(keptUntilExit: keptUntilExit)
    }
}

/// The third stage, on a thread of its own: scans from the failures detection reports, the
/// tallies of every event, and the JSON lines.
struct ScanAndTallyStage {
    let tally: StageState<ReplaySummary>
    let scans: StageState<ScanDetector>

    init(scans: ScanDetector) {
        tally = StageState(ReplaySummary())
        self.scans = StageState(scans)
    }

    /// The thread detection hands its events to: whole when they are written as JSON, else
    /// only what the summary counts.
    func consumer(json: Bool, write: @escaping (String) -> Void) -> ReplayEvents {
        let tally = tally.pointer
        let scans = scans.pointer
        if json {
            return ReplayEvents(whole: OffloadedConsumer(
                name: "lightscope-tally", batchSize: Replay.eventBatchSize, batchesInFlight: Replay.batchesInFlight, consumeBatch: { batch in
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
                }))
        }
        return ReplayEvents(tallied: OffloadedConsumer(
            name: "lightscope-tally", batchSize: Replay.eventBatchSize, batchesInFlight: Replay.batchesInFlight, consumeBatch: { batch in
                func tallyScan(_ event: UnwantedEvent) { tally.pointee.add(TalliedEvent(event)) }
                for index in batch.indices {
                    // What a few events on will change starts loading now (see `DetectionEngine.prefetch`).
                    if index + Replay.prefetchDistance < batch.count, case .event(let ahead) = batch[index + Replay.prefetchDistance] {
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
            }))
    }

    /// The tallies and the scan tables' losses, once the stage's thread has ended.
    var summary: ReplaySummary {
        var summary = tally.pointer.pointee
        summary.scanSourceEvictions = scans.pointer.pointee.evictions
        summary.slowScanEvictions = scans.pointer.pointee.slowScanEvictions
        return summary
    }

    func release(keptUntilExit: Bool) {
        scans.release(keptUntilExit: keptUntilExit)
        tally.release(keptUntilExit: keptUntilExit)
    }
}
