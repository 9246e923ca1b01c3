extension Doctor {
    /// With `[fleet] url` set: every address of the collector must pass the unit's IP firewall
    /// (systemd lets a packet through when IPAddressAllow= matches it, or IPAddressDeny= does not).
    public static func fleetSandbox(collector: String, addresses: Result<[IPAddress], FleetLookupFailure>,
                                    unit: SystemdUnitProperties?) -> DoctorCheck {
        let fix = "lightscope fleet dropin > \(fleetDropInPath); systemctl daemon-reload; systemctl restart lightscope"
        let found: [IPAddress]
        switch addresses {
        case .failure(let failure):
            return .fail("fleet", "cannot find the address of the collector \(collector): \(failure.reason)",
                         fix: "put the collector's address in [fleet] url (hostaddr=) or in /etc/hosts, then \(fix)")
        case .success(let list):
            found = list
        }
        guard let unit, unit.isLoaded else {
            return .fail("fleet", "cannot check whether the unit lets the daemon reach the collector \(collector): no unit to ask",
                         fix: "run doctor on the host where lightscope.service runs under systemd")
        }
        let allowed = unit.ipAddressAllow, denied = unit.ipAddressDeny
        let blocked = found.filter { address in
            denied.contains { $0.contains(address) } && !allowed.contains { $0.contains(address) }
        }
        guard blocked.isEmpty else {
            return .fail("fleet", "the unit's IPAddressDeny= blocks the collector \(collector) (\(blocked.map(\.description).joined(separator: ", "))), so no event can be shipped",
                         fix: fix)
        }
        return .pass("fleet", "the unit lets the daemon reach the collector \(collector) (\(found.map(\.description).joined(separator: ", ")))")
    }

    public static let fleetDropInPath = "/etc/systemd/system/lightscope.service.d/fleet.conf"

    public struct FleetLookupFailure: Error, Sendable {
        public var reason: String
        public init(reason: String) { self.reason = reason }
    }
}

extension SystemdUnitProperties {
    /// `IPAddressAllow=` as `systemctl show` prints it: prefixes separated by spaces.
    public var ipAddressAllow: [IPPrefix] { prefixes("IPAddressAllow") }
    public var ipAddressDeny: [IPPrefix] { prefixes("IPAddressDeny") }

    private func prefixes(_ name: String) -> [IPPrefix] {
        (values[name] ?? "").split(separator: " ").compactMap { IPPrefix(String($0)) }
    }
}
