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
        let localAddresses = local.isEmpty ? LocalAddresses.learnedFromAnswers() : LocalAddresses(prefixes: local)
        let engine = DetectionEngine(interface: "pcap", settings: settings, localAddresses: localAddresses)
        var summary = ReplaySummary()
        func emit(_ event: UnwantedEvent) {
            summary.add(event)
            if json { write(EventJSON.encode(EventRecord(event))) }
        }
        var lastTimestamp: UInt64 = 0
        let damage = reader.forEachPacket { bytes, _, timestamp in
            summary.packets += 1
            lastTimestamp = max(lastTimestamp, timestamp)
            do {
                engine.process(try PacketDecoder.decode(bytes, linkType: reader.linkType), timeNanos: timestamp, emit: emit)
            } catch {
                summary.undecodable += 1
            }
        }
        // Pending probes are resolved as if time ran on past the last packet.
        engine.advance(toNanos: lastTimestamp, emit: emit)
        engine.finish(emit: emit)
        summary.probes = engine.counters.probes
        summary.damage = damage
        summary.localAddresses = engine.localAddresses.exact.count
        if !json { write(summary.report(path: path, learnedLocal: local.isEmpty)) }
        return summary
    }
}

/// What a replay found: verdict counts, top sources and ports.
public struct ReplaySummary: Sendable {
    public var packets: UInt64 = 0
    public var undecodable: UInt64 = 0
    public var probes: UInt64 = 0
    public var events: [Verdict: UInt64] = [:]
    public var sources: [IPAddress: UInt64] = [:]
    public var ports: [PortKey: UInt64] = [:]
    /// libpcap's description of a corrupt or truncated file, if the file ended badly.
    public var damage: String?
    public var localAddresses = 0

    public struct PortKey: Hashable, Sendable {
        public var proto: TransportProtocol
        public var port: UInt16
    }

    static let topCount = 10

    mutating func add(_ event: UnwantedEvent) {
        events[event.verdict, default: 0] += 1
        guard event.verdict == .closed || event.verdict == .unanswered else { return }
        sources[event.source, default: 0] += 1
        if let port = event.destinationPort { ports[PortKey(proto: event.proto, port: port), default: 0] += 1 }
    }

    func report(path: String, learnedLocal: Bool) -> String {
        var lines = ["Replayed \(path): \(packets) packets, \(undecodable) not decodable, \(probes) probes"]
        if learnedLocal {
            lines.append("Local addresses learned from answers: \(localAddresses) (give --local CIDR to name them)")
        }
        lines.append("Unwanted events: " + Verdict.allCases.map { "\($0.rawValue) \(events[$0] ?? 0)" }.joined(separator: ", "))
        lines.append("Top sources:")
        for (source, count) in Self.top(sources) { lines.append("  \(source)  \(count)") }
        lines.append("Top ports:")
        for (key, count) in Self.top(ports) { lines.append("  \(key.port)/\(key.proto.rawValue)  \(count)") }
        if let damage { lines.append("Warning: the file ended badly (\(damage)); everything before that was processed") }
        return lines.joined(separator: "\n")
    }

    /// Highest counts first; ties in key order, so the output is deterministic.
    static func top<Key: Hashable & Comparable>(_ counts: [Key: UInt64]) -> [(Key, UInt64)] {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(topCount).map { ($0.key, $0.value) }
    }
}

extension ReplaySummary.PortKey: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.port, lhs.proto.rawValue) < (rhs.port, rhs.proto.rawValue)
    }
}
