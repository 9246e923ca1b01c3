/// What a `backscatter` event's victim sent this host: the kind of answer to a packet this
/// host never sent. One byte, so the detector's per-victim record can carry it.
public enum BackscatterAnswer: UInt8, CaseIterable, Sendable {
    /// A SYN-ACK: the victim's open port answering a SYN flood that claimed to come from here.
    case synAck = 1
    /// A RST: a closed port answering a SYN, or any port answering an ACK or other flood.
    case rst
    /// An ICMP or ICMPv6 destination unreachable, from the victim or a router on its way.
    case icmpUnreachable
    /// An ICMP or ICMPv6 time exceeded: the flood's packets looped or ran out of hops.
    case icmpTimeExceeded

    /// The name events, the store and the journal use (`answer`).
    public var name: String {
        switch self {
        case .synAck: "syn-ack"
        case .rst: "rst"
        case .icmpUnreachable: "icmp-unreachable"
        case .icmpTimeExceeded: "icmp-time-exceeded"
        }
    }

    public init?(name: String) {
        guard let answer = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = answer
    }
}
