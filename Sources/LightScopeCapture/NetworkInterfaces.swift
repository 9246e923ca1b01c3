import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// The host's interfaces as the kernel sees them right now.
public struct NetworkInterface: Equatable, Sendable {
    public var name: String
    public var index: UInt32
    public var isUp: Bool
    public var isLoopback: Bool
    public var hasAddress: Bool

    public init(name: String, index: UInt32, isUp: Bool, isLoopback: Bool, hasAddress: Bool) {
        self.name = name
        self.index = index
        self.isUp = isUp
        self.isLoopback = isLoopback
        self.hasAddress = hasAddress
    }

    /// What LightScope captures on when no interface is named.
    public var isCaptureCandidate: Bool { isUp && !isLoopback && hasAddress }
}

public enum NetworkInterfaces {
    public static func current() -> [NetworkInterface] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var byName: [String: NetworkInterface] = [:]
        var order: [String] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            let name = String(cString: entry.pointee.ifa_name)
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            let family = entry.pointee.ifa_addr.map { Int32($0.pointee.sa_family) } ?? -1
            if byName[name] == nil {
                order.append(name)
                byName[name] = NetworkInterface(name: name, index: if_nametoindex(name),
                                                isUp: flags & Int32(IFF_UP) != 0,
                                                isLoopback: flags & Int32(IFF_LOOPBACK) != 0,
                                                hasAddress: false)
            }
            if family == AF_INET || family == AF_INET6 { byName[name]!.hasAddress = true }
        }
        return order.compactMap { byName[$0] }
    }

    /// Every IPv4 and IPv6 address of this host (loopback included): what "local" means
    /// to detection.
    public static func addresses() -> Set<IPAddress> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: Set<IPAddress> = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let address = entry.pointee.ifa_addr else { continue }
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                _ = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    result.insert(IPAddress(ipv4: UInt32(bigEndian: $0.pointee.sin_addr.s_addr)))
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    let bytes = withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }
                    if let parsed = IPAddress(bytes: bytes) { result.insert(parsed) }
                }
            default:
                break
            }
        }
        return result
    }

    /// The kernel's index for `name`, 0 when there is no such interface.
    public static func index(of name: String) -> UInt32 { if_nametoindex(name) }
}
