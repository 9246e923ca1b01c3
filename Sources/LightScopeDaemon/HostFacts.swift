import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads the ports this host's sockets listen on, for detection (from netlink sock_diag, or
/// /proc/net where that is unavailable; both show the process's own network namespace).
enum HostFactsReader {
    static let procNetTables: [(path: String, isTCP: Bool)] = [
        ("/proc/net/tcp", true), ("/proc/net/tcp6", true), ("/proc/net/udp", false), ("/proc/net/udp6", false),
    ]

    static func listeningPorts() -> ListeningPorts {
        ListeningSocketsNetlink.listeningPorts() ?? listeningPortsFromProcNet()
    }

    static func listeningPortsFromProcNet() -> ListeningPorts {
        var ports = ListeningPorts()
        for table in procNetTables {
            guard let text = try? FileText.read(table.path, maximumBytes: maximumProcNetBytes).get() else { continue }
            let found = ListeningPorts.parseProcNet(text, isTCP: table.isTCP)
            if table.isTCP { ports.tcp.formUnion(found) } else { ports.udp.formUnion(found) }
        }
        return ports
    }

    /// /proc/net/tcp of a busy server: about 150 bytes a socket.
    static let maximumProcNetBytes = 64 << 20
}
