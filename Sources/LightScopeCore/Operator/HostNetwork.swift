/// The parts of the host's own network that a blocklist must never list: its addresses (with
/// the prefixes of their on-link networks), its default gateways and its DNS resolvers. A
/// spoofed SYN "from" any of them would otherwise cut the host off from itself, its router
/// or its name service.
///
/// Values only: the parsers here read the kernel's and the resolver's text, and the
/// `lightscope` command gathers that text (`HostNetworkFacts`).
public struct HostNetwork: Equatable, Sendable {
    /// Each address of the host with the prefix length of its network (e.g. 192.0.2.1/24).
    public var addresses: [IPPrefix]
    public var gateways: [IPAddress]
    public var resolvers: [IPAddress]

    public init(addresses: [IPPrefix] = [], gateways: [IPAddress] = [], resolvers: [IPAddress] = []) {
        self.addresses = addresses
        self.gateways = gateways
        self.resolvers = resolvers
    }

    /// The gateway of an IPv4 default route, from one line of /proc/net/route: destination and
    /// mask 0, the RTF_GATEWAY flag, the gateway as the kernel prints it (its bytes in network
    /// order read as a host integer). nil for any other line, the header included.
    public static func defaultGateway(procNetRouteLine line: Substring) -> IPAddress? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count > 7, fields[1] == "00000000", fields[7] == "00000000",
              let flags = UInt32(fields[3], radix: 16), flags & 0x2 != 0,
              let gateway = UInt32(fields[2], radix: 16), gateway != 0 else { return nil }
        return IPAddress(ipv4: UInt32(bigEndian: gateway))
    }

    /// The next hop of an IPv6 default route, from one line of /proc/net/ipv6_route: destination
    /// ::/0 and a next hop other than :: (fields: destination, its length, source, its length,
    /// next hop, ...).
    public static func defaultGateway(procNetIPv6RouteLine line: Substring) -> IPAddress? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count > 4, fields[0].count == 32, fields[0].allSatisfy({ $0 == "0" }), fields[1] == "00",
              let nextHop = hexAddress(fields[4]), nextHop != IPAddress(high: 0, low: 0) else { return nil }
        return nextHop
    }

    /// The `nameserver` lines of a resolv.conf (a zone index such as `%eth0` dropped).
    public static func resolvers(resolvConf text: String) -> [IPAddress] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count > 1, fields[0] == "nameserver" else { return nil }
            return IPAddress(String(fields[1].prefix { $0 != "%" }))
        }
    }

    private static func hexAddress(_ hex: Substring) -> IPAddress? {
        guard hex.count == 32, let high = UInt64(hex.prefix(16), radix: 16), let low = UInt64(hex.suffix(16), radix: 16) else {
            return nil
        }
        return IPAddress(high: high, low: low)
    }
}
