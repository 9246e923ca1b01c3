/// Which addresses a blocklist must never list, whatever the store says.
///
/// A SYN's source address is whatever its sender wrote: anyone can make LightScope record
/// events "from" any address, so the blocklist must not turn those into a way to cut the host
/// off. Never listed: special-use addresses (loopback, unspecified, broadcast, multicast,
/// link-local), the host's own addresses, its default gateways and DNS resolvers, the
/// `[blocklist] allow` prefixes, and with `exclude_local_networks` the host's on-link
/// networks (off by default: a compromised neighbour is a real scanner). A fleet blocklist
/// also never lists the fleet hosts' own addresses: there one spoofed packet would be blocked
/// by every host. Nor does either list a backscatter victim: its answers reached the host
/// because someone attacked it with the host's address forged, so blocking it would finish
/// the attacker's work.
public struct BlocklistPolicy: Sendable {
    public var host: HostNetwork
    public var excludeLocalNetworks: Bool
    public var allow: [IPPrefix]
    /// Each fleet host's addresses from its heartbeat, with the host's name.
    public var fleetHosts: [IPAddress: String]
    /// The sources of `backscatter` events in the list's window.
    public var backscatterVictims: Set<IPAddress>

    public init(host: HostNetwork = HostNetwork(), excludeLocalNetworks: Bool = false, allow: [IPPrefix] = [],
                fleetHosts: [IPAddress: String] = [:], backscatterVictims: Set<IPAddress> = []) {
        self.host = host
        self.excludeLocalNetworks = excludeLocalNetworks
        self.allow = allow
        self.fleetHosts = fleetHosts
        self.backscatterVictims = backscatterVictims
    }

    public init(host: HostNetwork, settings: Settings.Blocklist, fleetHosts: [IPAddress: String] = [:],
                backscatterVictims: Set<IPAddress> = []) {
        self.init(host: host, excludeLocalNetworks: settings.excludeLocalNetworks, allow: settings.allow, fleetHosts: fleetHosts,
                  backscatterVictims: backscatterVictims)
    }

    /// Why `address` must not be listed, or nil when it may be.
    public func exclusion(of address: IPAddress) -> String? {
        if let use = SpecialUseAddress(address) { return use.rawValue }
        if host.addresses.contains(where: { $0.address == address }) { return "this host's address" }
        if let name = fleetHosts[address] { return "fleet host \(name)" }
        if backscatterVictims.contains(address) { return "backscatter victim" }
        if host.gateways.contains(address) { return "default gateway" }
        if host.resolvers.contains(address) { return "DNS resolver" }
        if let prefix = allow.first(where: { $0.contains(address) }) { return "[blocklist] allow \(prefix)" }
        if excludeLocalNetworks, let network = host.addresses.first(where: { $0.contains(address) }) {
            return "local network \(Self.network(of: network))"
        }
        return nil
    }

    /// The prefix with its host bits cleared: 192.0.2.1/24 is on 192.0.2.0/24.
    private static func network(of prefix: IPPrefix) -> String {
        let hostBits = (prefix.address.isIPv4 ? 32 : 128) - prefix.length
        let bytes = prefix.address.bytes
        var masked = bytes
        for bit in 0..<hostBits {
            let index = 15 - bit / 8
            masked[index] &= ~UInt8(1 << (bit % 8))
        }
        let address = IPAddress(bytes: prefix.address.isIPv4 ? Array(masked[12...]) : masked) ?? prefix.address
        return "\(address)/\(prefix.length)"
    }
}
