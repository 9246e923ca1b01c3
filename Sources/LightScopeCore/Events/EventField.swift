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

    public var journalName: String { "LIGHTSCOPE_" + rawValue.uppercased() }

    public var storeColumn: String { self == .time ? "time_ns" : rawValue }
}
