/// Address ranges that name no remote host (RFC 6890): traffic "from" them is spoofed or
/// local, so they are never blocked, and a listener on one is or is not reachable from
/// other hosts for that reason alone.
public enum SpecialUseAddress: String, Sendable, CaseIterable {
    /// 127.0.0.0/8, ::1
    case loopback
    /// 0.0.0.0/8 ("this network"), ::
    case unspecified
    /// 255.255.255.255
    case broadcast
    /// 224.0.0.0/4, ff00::/8
    case multicast
    /// 169.254.0.0/16, fe80::/10
    case linkLocal = "link-local"

    private static let ranges: [(prefix: IPPrefix, use: SpecialUseAddress)] = {
        let table: [(String, SpecialUseAddress)] = [
            ("127.0.0.0/8", .loopback), ("::1/128", .loopback),
            ("0.0.0.0/8", .unspecified), ("::/128", .unspecified),
            ("255.255.255.255/32", .broadcast),
            ("224.0.0.0/4", .multicast), ("ff00::/8", .multicast),
            ("169.254.0.0/16", .linkLocal), ("fe80::/10", .linkLocal),
        ]
        return table.map { (IPPrefix($0.0)!, $0.1) }
    }()

    public init?(_ address: IPAddress) {
        guard let use = Self.ranges.first(where: { $0.prefix.contains(address) })?.use else { return nil }
        self = use
    }
}
