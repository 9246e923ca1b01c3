import LightScopeCapture
import LightScopeCore

/// `lightscope replay`: the live detection engine over a capture file, driven by the
/// capture's own timestamps, so the same file always gives the same events.
public struct Replay {
    public var path: String
    public var json: Bool
    /// The capture's local addresses; empty: learn them from who answers connection attempts.
    public var local: [IPPrefix]
    public var settings: Settings.Detection

    public init(path: String, json: Bool, local: [IPPrefix], settings: Settings.Detection) {
        self.path = path
        self.json = json
        self.local = local
        self.settings = settings
    }

    /// Replays the file, writing JSON lines or the summary through `write`.
    /// Throws when the file cannot be opened; a damaged file is reported after everything
    /// readable in it has been processed.
    public func run(write: (String) -> Void) throws(DaemonError) -> ReplaySummary {
        let reader = try PcapFileReader(path: path)
        return withoutActuallyEscaping(write) { write in replay(reader, write: write) }
    }

    /// Events per batch handed to the tally thread, and batches at once (see `OffloadedConsumer`).
    static let eventBatchSize = 4096
    static let eventBatchesInFlight = 4

    /// `write` only escapes to the tally thread, which has ended when this returns.
    private func replay(_ reader: PcapFileReader, write: @escaping (String) -> Void) -> ReplaySummary {
        let localAddresses = local.isEmpty ? LocalAddresses.learnedFromAnswers() : LocalAddresses(prefixes: local)
        let engine = DetectionEngine(interface: "pcap", settings: settings, localAddresses: localAddresses)
        // Events are tallied (and written as JSON) on a thread of their own, off the detection
        // thread: JSON encoding costs more per event than detecting it. One consumer, so the
        // JSON lines keep their order.
        let tally = ReplayTally()
        let json = json
        // The per-packet state behind a pointer, as `DetectionEngine` keeps its own: captured
        // `var`s that a closure changes get a dynamic exclusivity check on every access, and
        // the packet loop makes several per packet.
        let state = UnsafeMutablePointer<ReplayProgress>.allocate(capacity: 1)
        state.initialize(to: ReplayProgress(events: OffloadedConsumer(
            name: "lightscope-tally", batchSize: Self.eventBatchSize, batchesInFlight: Self.eventBatchesInFlight) { event in
                tally.summary.add(event)
                if json { write(EventJSON.encode(EventRecord(event))) }
            }))
        defer {
            state.pointee.lookahead.deallocate()
            state.deinitialize(count: 1)
            state.deallocate()
        }
        func emit(_ event: UnwantedEvent) { state.pointee.events.send(event) }
        func handle(_ entry: PacketLookahead.Entry) {
            if let packet = entry.packet {
                engine.process(packet, timeNanos: entry.timeNanos, emit: emit)
            } else {
                engine.passOver(timeNanos: entry.timeNanos, emit: emit)
            }
        }
        let linkType = reader.linkType
        let triage = PacketTriage(linkType: linkType)
        let damage = reader.forEachPacketReadingAhead { bytes, _, timestamp in
            state.pointee.packets &+= 1
            if timestamp > state.pointee.lastTimestamp { state.pointee.lastTimestamp = timestamp }
            // Established TCP (most of a real capture) needs no decoding: only its time counts.
            var packet: DecodedPacket?
            if !triage.isEstablishedTCP(bytes) {
                do {
                    let decoded = try PacketDecoder.decode(bytes, linkType: linkType)
                    engine.prefetch(decoded)
                    packet = decoded
                } catch {
                    state.pointee.undecodable &+= 1
                    return
                }
            }
            if let due = state.pointee.lookahead.push(packet, timeNanos: timestamp) { handle(due) }
        }
        while let due = state.pointee.lookahead.pop() { handle(due) }
        // Pending probes are resolved as if time ran on past the last packet.
        engine.advance(toNanos: state.pointee.lastTimestamp, emit: emit)
        engine.finish(emit: emit)
        state.pointee.events.finish()
        var summary = tally.summary
        summary.packets = state.pointee.packets
        summary.undecodable = state.pointee.undecodable
        summary.probes = engine.counters.probes
        summary.damage = damage
        summary.localAddresses = engine.localAddresses.exact.count
        if !json { write(summary.report(path: path, learnedLocal: local.isEmpty)) }
        return summary
    }
}

/// The summary the tally thread builds: that thread's alone until `OffloadedConsumer.finish`.
private final class ReplayTally: @unchecked Sendable {
    var summary = ReplaySummary()
}

/// What the packet loop of a replay updates as it goes.
struct ReplayProgress {
    var packets: UInt64 = 0
    var undecodable: UInt64 = 0
    var lastTimestamp: UInt64 = 0
    var lookahead = PacketLookahead()
    var events: OffloadedConsumer<UnwantedEvent>
}

/// What a replay found: verdict counts, top sources and ports.
///
/// Updated on every event, so the tallies are arrays and a `FastHashTable` (`AddressCounts`),
/// not dictionaries: an event costs no SipHash and no allocation here.
public struct ReplaySummary: Sendable {
    public var packets: UInt64 = 0
    public var undecodable: UInt64 = 0
    public var probes: UInt64 = 0
    /// Indexed by `Verdict.caseIndex`.
    private var eventCounts = [UInt64](repeating: 0, count: Verdict.allCases.count)
    private var sourceCounts = AddressCounts()
    /// Indexed by `portIndex(proto:port:)`: TCP ports, then UDP ports.
    private var portCounts = [UInt64](repeating: 0, count: 2 * 65536)
    /// libpcap's description of a corrupt or truncated file, if the file ended badly.
    public var damage: String?
    public var localAddresses = 0

    public struct PortKey: Hashable, Sendable {
        public var proto: TransportProtocol
        public var port: UInt16
    }

    static let topCount = 10

    /// Events by verdict (verdicts with no event are left out).
    public var events: [Verdict: UInt64] {
        var events: [Verdict: UInt64] = [:]
        for verdict in Verdict.allCases where eventCounts[verdict.caseIndex] > 0 { events[verdict] = eventCounts[verdict.caseIndex] }
        return events
    }

    /// `closed` and `unanswered` events by source.
    public var sources: [IPAddress: UInt64] {
        var sources: [IPAddress: UInt64] = [:]
        sourceCounts.forEach { sources[$0] = $1 }
        return sources
    }

    /// `closed` and `unanswered` events by destination port.
    public var ports: [PortKey: UInt64] {
        var ports: [PortKey: UInt64] = [:]
        for (index, count) in portCounts.enumerated() where count > 0 {
            ports[PortKey(proto: index < 65536 ? .tcp : .udp, port: UInt16(truncatingIfNeeded: index))] = count
        }
        return ports
    }

    private static func portIndex(proto: TransportProtocol, port: UInt16) -> Int {
        (proto == .tcp ? 0 : 65536) + Int(port)
    }

    mutating func add(_ event: UnwantedEvent) {
        eventCounts[event.verdict.caseIndex] &+= 1
        guard event.verdict == .closed || event.verdict == .unanswered else { return }
        sourceCounts.increment(event.source)
        if let port = event.destinationPort { portCounts[Self.portIndex(proto: event.proto, port: port)] &+= 1 }
    }

    func report(path: String, learnedLocal: Bool) -> String {
        var lines = ["Replayed \(path): \(packets) packets, \(undecodable) not decodable, \(probes) probes"]
        if learnedLocal {
            lines.append("Local addresses learned from answers: \(localAddresses) (give --local CIDR to name them)")
        }
        lines.append("Unwanted events: " + Verdict.allCases.map { "\($0.rawValue) \(eventCounts[$0.caseIndex])" }.joined(separator: ", "))
        lines.append("Top sources:")
        var topSources = Top<IPAddress>(limit: Self.topCount)
        sourceCounts.forEach { topSources.offer($0, $1) }
        for (source, count) in topSources.entries { lines.append("  \(source)  \(count)") }
        lines.append("Top ports:")
        var topPorts = Top<PortKey>(limit: Self.topCount)
        for (index, count) in portCounts.enumerated() where count > 0 {
            topPorts.offer(PortKey(proto: index < 65536 ? .tcp : .udp, port: UInt16(truncatingIfNeeded: index)), count)
        }
        for (key, count) in topPorts.entries { lines.append("  \(key.port)/\(key.proto.rawValue)  \(count)") }
        if let damage { lines.append("Warning: the file ended badly (\(damage)); everything before that was processed") }
        return lines.joined(separator: "\n")
    }

    /// The `limit` highest counts seen, highest first, ties in key order so the output is
    /// deterministic, kept while offering every key once: no sort of all keys.
    struct Top<Key: Comparable> {
        let limit: Int
        private(set) var entries: [(Key, UInt64)] = []

        init(limit: Int) { self.limit = limit }

        static func ranksBefore(_ lhs: (Key, UInt64), _ rhs: (Key, UInt64)) -> Bool {
            lhs.1 != rhs.1 ? lhs.1 > rhs.1 : lhs.0 < rhs.0
        }

        mutating func offer(_ key: Key, _ count: UInt64) {
            let candidate = (key, count)
            if entries.count == limit {
                guard let last = entries.last, Self.ranksBefore(candidate, last) else { return }
                entries.removeLast()
            }
            let position = entries.firstIndex { Self.ranksBefore(candidate, $0) } ?? entries.count
            entries.insert(candidate, at: position)
        }
    }

}

extension ReplaySummary.PortKey: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.port, lhs.proto.rawValue) < (rhs.port, rhs.proto.rawValue)
    }
}
