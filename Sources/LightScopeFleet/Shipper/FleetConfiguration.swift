import LightScopeCore
import LightScopeStore
#if canImport(Glibc)
import Glibc
#endif

extension FleetShipper.Configuration {
    /// Fault injection (tests only, with LIGHTSCOPE_FAULT_INJECTION=1): `kill-after-commit` or
    /// `kill-after-commit:N` ends the process right after the Nth batch commits on the
    /// collector, before the cursor is written: the worst moment for exactly-once delivery.
    public static let faultVariable = "LIGHTSCOPE_FLEET_FAULT"

    /// The shipper's configuration from `[fleet]`, or nil when `url` is empty. Every problem a
    /// restart cannot fix (a bad URL, an unreadable or too open password file, no host id) is
    /// thrown here, before anything runs.
    public static func make(settings: Settings, stateDirectory: String, environment: [String: String],
                            anonymiser: AddressAnonymiser, faultInjectionEnabled: Bool) throws(FleetError) -> Self? {
        guard let url = settings.fleet.url else { return nil }
        let parameters = try ConnectionParameters(url: url)
        let password = try FleetPassword.load(settings.fleet.passwordFile, environment: environment)
        let hostID = try HostID.current(environment: environment)
        var killAfterCommits: Int?
        if faultInjectionEnabled, let fault = environment[faultVariable], fault.hasPrefix("kill-after-commit") {
            killAfterCommits = Int(fault.split(separator: ":").dropFirst().first ?? "1") ?? 1
        }
        return Self(settings: settings.fleet, parameters: parameters, password: password, hostID: hostID,
                    hostName: settings.fleet.hostName ?? localHostName(), databasePath: stateDirectory + "/" + EventStore.fileName,
                    anonymiser: anonymiser, killAfterCommits: killAfterCommits)
    }

    static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
