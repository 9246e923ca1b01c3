/// The host's listening sockets, asked of the kernel over netlink (`SockDiag`) or read from
/// /proc/net/{tcp,tcp6,udp,udp6} where that is unavailable: a probe of one
/// of these ports that goes unanswered is not "unanswered" (the service may just be slow).
public struct ListeningPorts: Equatable, Sendable {
    public var tcp: Set<UInt16> = []
    public var udp: Set<UInt16> = []

    public init(tcp: Set<UInt16> = [], udp: Set<UInt16> = []) {
        self.tcp = tcp
        self.udp = udp
    }

    /// Parses one /proc/net table. TCP sockets count in state LISTEN (0A); UDP sockets are
    /// listening when unconnected (state 07, remote port 0). Malformed lines are skipped.
    public static func parseProcNet(_ text: String, isTCP: Bool) -> Set<UInt16> {
        var ports: Set<UInt16> = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3 else { continue }
            let local = fields[1], remote = fields[2], state = fields[3]
            guard let localColon = local.lastIndex(of: ":"), let remoteColon = remote.lastIndex(of: ":"),
                  let port = UInt16(local[local.index(after: localColon)...], radix: 16),
                  let remotePort = UInt16(remote[remote.index(after: remoteColon)...], radix: 16) else { continue }
            if isTCP ? state == "0A" : (state == "07" && remotePort == 0) {
                ports.insert(port)
            }
        }
        return ports
    }
}
