import LightScopeCapture
import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads what detection needs to know about this host: its addresses, and the ports its
/// sockets listen on (from /proc/net, which shows the process's own network namespace).
enum HostFactsReader {
    static let procNetTables: [(path: String, isTCP: Bool)] = [
        ("/proc/net/tcp", true), ("/proc/net/tcp6", true), ("/proc/net/udp", false), ("/proc/net/udp6", false),
    ]

    static func addresses() -> Set<IPAddress> { NetworkInterfaces.addresses() }

    static func listeningPorts() -> ListeningPorts {
        var ports = ListeningPorts()
        for table in procNetTables {
            guard let text = readSmallFile(table.path) else { continue }
            let found = ListeningPorts.parseProcNet(text, isTCP: table.isTCP)
            if table.isTCP { ports.tcp.formUnion(found) } else { ports.udp.formUnion(found) }
        }
        return ports
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 16 << 20 {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
