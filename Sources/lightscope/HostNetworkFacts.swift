import LightScopeCore
import LightScopeDaemon
#if canImport(Glibc)
import Glibc
#endif

/// Reads `HostNetwork` from this host: its interface addresses with their netmasks
/// (getifaddrs), the default routes (/proc/net/route, /proc/net/ipv6_route) and the resolvers
/// (/etc/resolv.conf, and systemd-resolved's upstream list when its stub is in use). Every
/// decision about them is `BlocklistPolicy`'s.
enum HostNetworkFacts {
    static let resolverFiles = ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"]

    static func read() -> HostNetwork {
        var gateways: [IPAddress] = []
        // A router's tables can hold a million routes: read them a line at a time.
        forEachLine("/proc/net/route") { line in HostNetwork.defaultGateway(procNetRouteLine: line).map { gateways.append($0) } }
        forEachLine("/proc/net/ipv6_route") { line in HostNetwork.defaultGateway(procNetIPv6RouteLine: line).map { gateways.append($0) } }
        let resolvers = resolverFiles.flatMap { path in
            (try? FileText.read(path, maximumBytes: 1 << 20).get()).map(HostNetwork.resolvers(resolvConf:)) ?? []
        }
        return HostNetwork(addresses: interfaceAddresses(), gateways: gateways, resolvers: resolvers)
    }

    private static func forEachLine(_ path: String, _ visit: (Substring) -> Void) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            pending += chunk[0..<count]
            guard let lastNewline = pending.lastIndex(of: 0x0A) else { continue }
            String(decoding: pending[...lastNewline], as: UTF8.self).split(separator: "\n").forEach(visit)
            pending.removeSubrange(...lastNewline)
        }
        if !pending.isEmpty { visit(Substring(String(decoding: pending, as: UTF8.self))) }
    }

    private static func interfaceAddresses() -> [IPPrefix] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        return sequence(first: first, next: { $0.pointee.ifa_next }).compactMap { entry in
            guard let address = entry.pointee.ifa_addr.flatMap(bytes), let ip = IPAddress(bytes: address) else { return nil }
            let length = entry.pointee.ifa_netmask.flatMap(bytes).map(leadingOnes) ?? (ip.isIPv4 ? 32 : 128)
            return IPPrefix(address: ip, length: length)
        }
    }

    /// The address bytes of an AF_INET or AF_INET6 sockaddr (4 or 16), nil for other families.
    private static func bytes(_ address: UnsafeMutablePointer<sockaddr>) -> [UInt8]? {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) } }
        default:
            return nil
        }
    }

    private static func leadingOnes(_ mask: [UInt8]) -> Int {
        var count = 0
        for byte in mask {
            count += (~byte).leadingZeroBitCount
            if byte != 0xFF { break }
        }
        return count
    }
}
