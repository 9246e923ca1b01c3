/// The stable names of an event's fields: JSON keys, store columns and (upper-cased, with a
/// `LIGHTSCOPE_` prefix) journal fields all come from here, so the sinks cannot drift apart.
public enum EventField: String, CaseIterable, Sendable {
    /// Capture timestamp: RFC 3339 text in JSON and the journal, integer nanoseconds in the
    /// store's `time_ns` column (an integer sorts and compares cheaply in an index).
    case time
    case interface, proto, src, sport, dst, dport, verdict, packets, ttl, window
    case tcpOptions = "tcp_options"
    /// `portscan`: distinct ports probed.
    case ports
    /// `addrscan`: distinct local addresses probed.
    case addresses
    /// The tool that sent the probe (`ScanTool`): `unknown` when no rule names one.
    case tool
    /// The probe's TCP flags as letters (`TCPFlags.letters`): `S`, `F`, `FPU`, empty for a NULL
    /// probe; none for UDP, for a probe seen only from its answer (`unfiltered`), and for a
    /// scan event completed by one of those.
    case tcpFlags = "tcp_flags"
    /// `backscatter`: what the victim sent (`BackscatterAnswer`); absent for other verdicts.
    case answer
    /// An aggregate event (docs/store.md, "Aggregation"): how many probes it stands for. Its
    /// `src` is then a network (`203.0.113.0/24`); absent for every single event.
    case aggregated
    /// An aggregate event: a few of its sources, comma-separated (pseudonyms when anonymised).
    case samples

    public var journalName: String { "LIGHTSCOPE_" + rawValue.uppercased() }

    public var storeColumn: String { self == .time ? "time_ns" : rawValue }
}
