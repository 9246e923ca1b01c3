import CPrefetch
import LightScopeCore

/// What a replay found: verdict counts, top sources and ports.
///
/// Updated on every event, so the tallies are arrays and a `FastHashTable` (`AddressCounts`),
/// not dictionaries: an event costs no SipHash and no allocation here.
public struct ReplaySummary: Sendable {
    public var packets: UInt64 = 0
    public var undecodable: UInt64 = 0
    public var probes: UInt64 = 0
    private var eventCounts = VerdictCounts()
    private var sourceCounts = AddressCounts()
    /// Indexed by `portIndex(proto:port:)`: TCP ports, then UDP ports.
    private var portCounts = [UInt64](repeating: 0, count: 2 * 65536)
    /// The top sources, kept as the counts grow (a test per event, past the first few
    /// thousand), so that the report need not go through every source (a quarter of a
    /// million in the benchmark's capture) at the end, when nothing else is left to run
    /// beside it. The ports are few enough to rank at the end; kept as they grew, the few
    /// scanned ports at the top moved on nearly every event.
    private var topSources = Top<IPAddress>(limit: Self.topCount)
    /// Probes a full pending-probe table let go before their verdict (lost events), and scan
    /// sources a full scan table let go (lost scan state): the budget was too small for the file.
    public var lostProbes: UInt64 = 0
    public var scanSourceEvictions: UInt64 = 0
    /// Slow-scan sources a full table let go, the least recently active first: on a file
    /// with many sources, the table's ordinary turnover, so said apart from the warning.
    public var slowScanEvictions: UInt64 = 0
    /// libpcap's description of a corrupt or truncated file, if the file ended badly.
    public var damage: String?
    public var localAddresses = 0
    /// TCP headers split across fragments (reported only when the file had any).
    public var fragments = FragmentCounters()

    public struct PortKey: Hashable, Sendable {
        public var proto: TransportProtocol
        public var port: UInt16
    }

    static let topCount = 10

    /// Events by verdict (verdicts with no event are left out).
    public var events: [Verdict: UInt64] {
        eventCounts.nonZero
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
        for (index, count) in portCounts.enumerated() where count > 0 { ports[Self.portKey(at: index)] = count }
        return ports
    }

    private static func portIndex(proto: TransportProtocol, port: UInt16) -> Int {
        (proto == .tcp ? 0 : 65536) + Int(port)
    }

    /// The port a `portCounts` index counts (`portIndex` undone).
    private static func portKey(at index: Int) -> PortKey {
        PortKey(proto: index < 65536 ? .tcp : .udp, port: UInt16(truncatingIfNeeded: index))
    }

    /// Starts loading the counts `add` will change for `event`: its source's and its port's
    /// (the port counts are a megabyte, more than this core's cache). `mutating` though it
    /// changes nothing: through a pointer, a non-mutating call copies the summary.
    mutating func prefetch(_ event: TalliedEvent) {
        guard ScanDetector.isFailure(event.verdict) else { return }
        sourceCounts.prefetch(event.source)
        guard let port = event.destinationPort else { return }
        portCounts.withUnsafeBufferPointer { counts in
            lightscope_prefetch(counts.baseAddress! + Self.portIndex(proto: event.proto, port: port))
        }
    }

    mutating func add(_ event: TalliedEvent) {
        eventCounts.count(event.verdict)
        guard ScanDetector.isFailure(event.verdict) else { return }
        topSources.raise(event.source, to: sourceCounts.increment(event.source))
        if let port = event.destinationPort { portCounts[Self.portIndex(proto: event.proto, port: port)] &+= 1 }
    }

    func report(path: String, learnedLocal: Bool) -> String {
        var lines = ["Replayed \(path): \(packets) packets, \(undecodable) not decodable, \(probes) probes"]
        if learnedLocal {
            lines.append("Local addresses learned from answers: \(localAddresses) (give --local CIDR to name them)")
        }
        if fragments != FragmentCounters() {
            lines.append("Fragmented TCP headers: \(fragments.reassembled) reassembled, \(fragments.overlapping) dropped as overlapping, "
                + "\(fragments.evicted) pushed out unfinished, \(fragments.expired) timed out")
        }
        lines.append("Unwanted events: " + eventCounts.text)
        lines.append("Top sources:")
        for (source, count) in topSources.entries { lines.append("  \(source)  \(count)") }
        lines.append("Top ports:")
        var topPorts = Top<PortKey>(limit: Self.topCount)
        for (index, count) in portCounts.enumerated() where count > 0 { topPorts.raise(Self.portKey(at: index), to: count) }
        for (key, count) in topPorts.entries { lines.append("  \(key.port)/\(key.proto.rawValue)  \(count)") }
        if lostProbes > 0 || scanSourceEvictions > 0 {
            lines.append("Warning: the tables were full: \(lostProbes) probes lost before their verdict, \(scanSourceEvictions) scan sources forgotten early (raise memory_budget_mib)")
        }
        if slowScanEvictions > 0 {
            lines.append("Slow-scan sources forgotten before their window ended, the least recently active: \(slowScanEvictions)")
        }
        if let damage { lines.append("Warning: the file ended badly (\(damage)); everything before that was processed") }
        return lines.joined(separator: "\n")
    }

    /// The `limit` highest counts, highest first, ties in key order so the output is
    /// deterministic, kept up to date as counts grow (`raise`; a key raised once, to its
    /// final count, is the same as offered). No sort of all keys.
    struct Top<Key: Comparable & Sendable>: Sendable {
        let limit: Int
        private(set) var entries: [(Key, UInt64)] = []
        /// The last entry's count once the top is full (0 until then): a lower count cannot
        /// enter, which is all most calls need to know.
        private var lowestCount: UInt64 = 0

        init(limit: Int) {
            precondition(limit > 0, "a top of nothing")
            self.limit = limit
        }

        static func ranksBefore(_ lhs: (Key, UInt64), _ rhs: (Key, UInt64)) -> Bool {
            lhs.1 != rhs.1 ? lhs.1 > rhs.1 : lhs.0 < rhs.0
        }

        /// `key`'s count has grown to `count` (every count only grows). Only `key` moves up,
        /// so the top is what it was, with `key` moved up to its new place if it now ranks
        /// before the last entry (which drops out, unless it was `key` itself). Most calls
        /// end at the first test; a key already in the top is moved up in place, not removed
        /// and inserted again.
        @inline(__always)
        mutating func raise(_ key: Key, to count: UInt64) {
            guard count >= lowestCount else { return }
            if entries.count == limit, let last = entries.last, !Self.ranksBefore((key, count), last) { return }
            defer { if entries.count == limit { lowestCount = entries[limit - 1].1 } }
            var position: Int
            if let index = entries.firstIndex(where: { $0.0 == key }) {
                entries[index].1 = count
                position = index
            } else if entries.count < limit {
                entries.append((key, count))
                position = entries.count - 1
            } else {
                position = entries.count - 1
                entries[position] = (key, count)
            }
            while position > 0 && Self.ranksBefore(entries[position], entries[position - 1]) {
                entries.swapAt(position, position - 1)
                position -= 1
            }
        }
    }

}

extension ReplaySummary.PortKey: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.port, lhs.proto.rawValue) < (rhs.port, rhs.proto.rawValue)
    }
}
