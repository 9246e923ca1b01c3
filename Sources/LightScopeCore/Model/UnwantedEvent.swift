/// Why inbound traffic was judged unwanted.
public enum Verdict: String, CaseIterable, Sendable, Codable {
    /// A TCP SYN or stealth probe (FIN, NULL, Xmas) answered by RST, or a UDP datagram
    /// answered by ICMP port unreachable.
    case closed
    /// A TCP SYN that got no answer within `synAnswerTimeout`; for a stealth probe, whose
    /// open port stays silent too, open or filtered.
    case unanswered
    /// One source probed many ports of one host (see the scan thresholds).
    case portscan
    /// One source probed one port on many local addresses.
    case addrscan
    /// The host answered a segment with ACK that belongs to no connection (an ACK, Maimon or
    /// window scan's probe, `nmap -sA`, `-sM`, `-sW`) with a RST: Linux resets it from open
    /// and closed ports alike, so the port is only known not to be filtered. Seen from that
    /// RST alone: the probe itself is not captured (`UnfilteredAnswers`).
    case unfiltered
}

public enum TransportProtocol: String, Sendable, Codable {
    case tcp, udp
}

// The standard library's default for a `String`-backed enum hashes the raw string; these
// count every event in dictionaries, so they hash their case instead.
extension Verdict {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(caseIndex)
    }

    /// The position in `allCases`, for counters kept in arrays.
    public var caseIndex: Int {
        switch self {
        case .closed: 0
        case .unanswered: 1
        case .portscan: 2
        case .addrscan: 3
        case .unfiltered: 4
        }
    }
}

extension TransportProtocol {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self == .tcp)
    }
}

/// One unwanted-traffic event: the stable record that every sink writes.
/// Field names on the wire (JSON, journal, store) are `EventField`; the sinks write it as an `EventRecord`.
///
/// Plain data (no strings or other references inside): detection makes one per probe under a
/// scan, and each is copied to the thread that writes or tallies it, so a copy must be a
/// memory copy. Text (the interface's name, the options' fingerprint) is made when read.
public struct UnwantedEvent: Equatable, Sendable {
    /// Capture timestamp of the packet that decided the verdict, nanoseconds since the epoch.
    public var timeNanos: UInt64
    public var interfaceName: InterfaceName
    public var proto: TransportProtocol
    public var source: IPAddress
    /// nil for scan events, which span many source ports.
    public var sourcePort: UInt16?
    /// nil for `addrscan`, which spans many local addresses.
    public var destination: IPAddress?
    /// nil for `portscan`, which spans many ports.
    public var destinationPort: UInt16?
    public var verdict: Verdict
    /// Packets from the source that this event covers.
    public var packets: UInt32
    /// IP TTL (IPv6 hop limit) of the probe as it arrived.
    public var ttl: UInt8?
    public var tcpWindow: UInt16?
    /// The probe's TCP options as it carried them (the SYN's; nil for UDP and scan events).
    public var options: TCPOptions?
    /// `portscan`: distinct ports probed in the window.
    public var ports: Int?
    /// `addrscan`: distinct local addresses probed in the window.
    public var addresses: Int?
    /// The tool whose marks the probe carried (for a scan event, the probe that completed it).
    public var tool: ScanTool
    /// The probe's TCP flags (for a scan event, the probe's that completed it); nil for UDP
    /// and when the probe was not seen (`unfiltered`).
    public var tcpFlags: TCPFlags?

    public var interface: String { interfaceName.description }

    /// The probe's TCP options in order, e.g. `M1460,S,T,N,W7` (see `TCPOptionsFingerprint`),
    /// built when read: an event that no sink prints (replay's summary) never pays for the text.
    public var tcpOptions: String? { options?.fingerprint }

    public init(timeNanos: UInt64, interface: String, proto: TransportProtocol, source: IPAddress, sourcePort: UInt16?,
                destination: IPAddress?, destinationPort: UInt16?, verdict: Verdict, packets: UInt32,
                ttl: UInt8? = nil, tcpWindow: UInt16? = nil, options: TCPOptions? = nil,
                ports: Int? = nil, addresses: Int? = nil, tool: ScanTool = .unknown, tcpFlags: TCPFlags? = nil) {
        self.init(timeNanos: timeNanos, interface: InterfaceName(interface), proto: proto, source: source,
                  sourcePort: sourcePort, destination: destination, destinationPort: destinationPort, verdict: verdict,
                  packets: packets, ttl: ttl, tcpWindow: tcpWindow, options: options, ports: ports, addresses: addresses,
                  tool: tool, tcpFlags: tcpFlags)
    }

    public init(timeNanos: UInt64, interface: InterfaceName, proto: TransportProtocol, source: IPAddress, sourcePort: UInt16?,
                destination: IPAddress?, destinationPort: UInt16?, verdict: Verdict, packets: UInt32,
                ttl: UInt8? = nil, tcpWindow: UInt16? = nil, options: TCPOptions? = nil,
                ports: Int? = nil, addresses: Int? = nil, tool: ScanTool = .unknown, tcpFlags: TCPFlags? = nil) {
        self.timeNanos = timeNanos
        self.interfaceName = interface
        self.proto = proto
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.verdict = verdict
        self.packets = packets
        self.ttl = ttl
        self.tcpWindow = tcpWindow
        self.options = options
        self.ports = ports
        self.addresses = addresses
        self.tool = tool
        self.tcpFlags = tcpFlags
    }
}
