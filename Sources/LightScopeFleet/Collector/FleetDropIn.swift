import LightScopeCore
import LightScopeStore

/// The systemd drop-in that lets the sandboxed unit reach its collector. The packaged unit
/// denies all IP traffic but localhost (`IPAddressDeny=any`); this adds the collector's
/// addresses to the allow list and nothing else, so hosts that do not ship keep the default.
public enum FleetDropIn {
    public static let path = "/etc/systemd/system/lightscope.service.d/fleet.conf"

    /// The collector's addresses: `hostaddr` when the URL gives it, else its host names looked
    /// up now (for the drop-in and `doctor`, not on the daemon's loop). Socket directories have none.
    public static func collectorAddresses(url: String) throws(FleetError) -> [String] {
        let parameters = try ConnectionParameters(url: url)
        let listed = parameters.parsed["hostaddr"] ?? parameters.parsed["host"] ?? ""
        var addresses: [String] = []
        for host in listed.split(separator: ",").map({ String($0).trimmingWhitespace }) where !host.isEmpty && !host.hasPrefix("/") && !host.hasPrefix("@") {
            if HostResolver.isLiteral(host) {
                addresses.append(host)
            } else {
                do {
                    addresses.append(try HostResolver.lookUp(host))
                } catch {
                    throw FleetError(error.message)
                }
            }
        }
        return addresses
    }

    /// The drop-in's text; `credential` adds `LoadCredential=` for the password file, and
    /// `anonymisationKey` for the fleet's anonymisation key (`[store] anonymisation_key = anonymisation-key`).
    public static func text(addresses: [String], collector: String, credential: String?, anonymisationKey: String? = nil) -> String {
        var lines = [
            "# \(path): lets lightscope.service reach its fleet collector \(collector)",
            "# and nothing else. Apply: systemctl daemon-reload && systemctl restart lightscope",
            "[Service]",
        ]
        lines += addresses.map { "IPAddressAllow=\($0)" }
        if let credential { lines.append("LoadCredential=\(FleetPassword.credentialName):\(credential)") }
        if let anonymisationKey { lines.append("LoadCredential=\(AnonymisationKey.credentialName):\(anonymisationKey)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
