/// Which of the host's RSTs without ACK may answer an ACK-type probe (`nmap -sA`, `-sM`,
/// `-sW`), for the `unfiltered` verdict.
///
/// Linux resets a segment with ACK that belongs to no connection with a RST without ACK
/// (its sequence number the segment's acknowledgement), from open and closed ports alike.
/// The probes themselves are not captured: passing every inbound ACK to user space would
/// copy all established traffic. So the answer is all there is, and it must be told from
/// the resets the host sends for its own connections:
/// - late segments of an inbound connection the host has closed come to its service port
///   from a remote it answered within `grace` (`RecentConnections`), and are not counted;
/// - late segments of the host's own outbound connections come to the port it connected
///   from, in the kernel's ephemeral range (`ip_local_port_range`): resets from that range
///   are not counted, at the cost of ACK probes of those ports going unseen.
enum UnfilteredAnswers {
    /// Linux's default `net.ipv4.ip_local_port_range`.
    static let hostEphemeralPorts: ClosedRange<UInt16> = 32768...60999

    @inline(__always)
    static func mayAnswerProbe(localPort: UInt16) -> Bool { !hostEphemeralPorts.contains(localPort) }
}
