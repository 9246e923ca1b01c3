/// The addresses of scanning sources as a firewall reads them: a plain list, an `nft -f`
/// ruleset or an `ipset restore` script.
///
/// Every format replaces what a previous run loaded, so running the same command again (from
/// cron, say) converges instead of piling up rules. Pseudonyms (`anon4-…`, `anon6-…`) name no
/// address a firewall could match; they and anything else that is not an address are
/// returned in `skipped` for the caller to report. Addresses the policy keeps off the list
/// (`BlocklistPolicy`: spoofable sources that would cut the host off) are in `excluded`.
public struct Blocklist: Equatable, Sendable {
    public enum Format: String, CaseIterable, Sendable {
        case plain, nft, ipset
    }

    /// The nftables table (family `inet`) and the ipset names one output manages. The local
    /// list and the fleet's have their own, so loading one never replaces the other.
    public struct Names: Sendable {
        public var nftTable: String
        public var ipsetIPv4: String
        public var ipsetIPv6: String

        public static let local = Names(nftTable: "lightscope", ipsetIPv4: "lightscope-v4", ipsetIPv6: "lightscope-v6")
        public static let fleet = Names(nftTable: "lightscope_fleet", ipsetIPv4: "lightscope-fleet-v4", ipsetIPv6: "lightscope-fleet-v6")
    }

    public private(set) var ipv4: [IPAddress] = []
    public private(set) var ipv6: [IPAddress] = []
    /// Sources that cannot be blocked: pseudonyms and text that is no address.
    public private(set) var skipped: [String] = []
    /// Addresses that must never be blocked, each with the reason, in address order.
    public private(set) var excluded: [Exclusion] = []

    public struct Exclusion: Equatable, Sendable, CustomStringConvertible {
        public var address: IPAddress
        public var reason: String
        public var description: String { "\(address) (\(reason))" }
    }

    /// Sorts and de-duplicates, so the same store gives byte-identical output.
    public init(sources: [String], policy: BlocklistPolicy = BlocklistPolicy()) {
        var seen = Set<IPAddress>()
        for source in sources {
            guard let address = IPAddress(source) else {
                skipped.append(source)
                continue
            }
            guard seen.insert(address).inserted else { continue }
            if let reason = policy.exclusion(of: address) {
                excluded.append(Exclusion(address: address, reason: reason))
            } else if address.isIPv4 {
                ipv4.append(address)
            } else {
                ipv6.append(address)
            }
        }
        ipv4.sort()
        ipv6.sort()
        excluded.sort { ($0.address.isIPv4 ? 0 : 1, $0.address) < ($1.address.isIPv4 ? 0 : 1, $1.address) }
    }

    /// Every address listed, IPv4 first.
    public var addresses: [IPAddress] { ipv4 + ipv6 }

    /// The addresses in an earlier output of any format (plain, nft, ipset): what it blocked,
    /// for `--dry-run` to compare against. Lines that name no address are passed over.
    public static func addresses(inOutput text: String) -> Set<IPAddress> {
        var found = Set<IPAddress>()
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmedSpaces
            if line.hasPrefix("#") { continue }
            let fields = line.split(separator: " ")
            // ipset: `add lightscope-v4 203.0.113.7 -exist`; nft: `203.0.113.7,`; plain: the address.
            let candidate = fields.first == "add" && fields.count > 2 ? fields[2] : Substring(line)
            let text = candidate.hasSuffix(",") ? candidate.dropLast() : candidate
            if let address = IPAddress(String(text)) { found.insert(address) }
        }
        return found
    }

    public var isEmpty: Bool { ipv4.isEmpty && ipv6.isEmpty }

    /// `header` becomes comment lines (nft, ipset), e.g. how the list was chosen; plain output
    /// is addresses only, one per line, for other tools to read.
    public func render(_ format: Format, header: [String] = [], names: Names = .local) -> String {
        switch format {
        case .plain: return (ipv4 + ipv6).map { "\($0)\n" }.joined()
        case .nft: return nftRuleset(header: header, table: names.nftTable)
        case .ipset: return ipsetScript(header: header, names: names)
        }
    }

    /// `table` then `delete table` first: the delete never fails on a first run, and the
    /// whole file is one nft transaction, so the old rules stay until the new ones are in.
    private func nftRuleset(header: [String], table: String) -> String {
        var lines = ["#!/usr/sbin/nft -f"] + header.map { "# \($0)" }
        lines += ["table inet \(table)", "delete table inet \(table)", "table inet \(table) {"]
        for (name, type, addresses) in [("blocked_v4", "ipv4_addr", ipv4), ("blocked_v6", "ipv6_addr", ipv6)] {
            lines += ["\tset \(name) {", "\t\ttype \(type)"]
            // nft rejects `elements = { }`: an empty set is declared without the line.
            if !addresses.isEmpty {
                lines.append("\t\telements = {")
                lines += addresses.enumerated().map { index, address in
                    "\t\t\t\(address)" + (index == addresses.count - 1 ? "" : ",")
                }
                lines.append("\t\t}")
            }
            lines.append("\t}")
        }
        lines += [
            "\tchain input {",
            // Before the usual filter chains (priority 0), so an accept there cannot let a source back in.
            "\t\ttype filter hook input priority filter - 10; policy accept;",
            "\t\tip saddr @blocked_v4 drop",
            "\t\tip6 saddr @blocked_v6 drop",
            "\t}",
            "}",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// `-exist` makes create and add idempotent; `flush` drops what the previous run added.
    private func ipsetScript(header: [String], names: Names) -> String {
        var lines = header.map { "# \($0)" }
        lines += [
            "create \(names.ipsetIPv4) hash:ip family inet -exist",
            "create \(names.ipsetIPv6) hash:ip family inet6 -exist",
            "flush \(names.ipsetIPv4)",
            "flush \(names.ipsetIPv6)",
        ]
        lines += ipv4.map { "add \(names.ipsetIPv4) \($0) -exist" }
        lines += ipv6.map { "add \(names.ipsetIPv6) \($0) -exist" }
        return lines.joined(separator: "\n") + "\n"
    }
}
