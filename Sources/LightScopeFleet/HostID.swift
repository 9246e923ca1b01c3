import CSystemd
import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// This host's identity on the collector: a 128-bit id derived from /etc/machine-id the way
/// `sd_id128_get_machine_app_specific` does it (HMAC with LightScope's application id), so it is
/// stable across restarts, upgrades and reinstalls, yet cannot be linked back to the machine-id.
public struct HostID: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// LightScope's application id for `sd_id128_get_machine_app_specific`: fixed forever, since
    /// changing it would give every host a new identity.
    static let applicationID: [UInt8] = [0x6c, 0x1f, 0x3a, 0x52, 0x9e, 0x44, 0x4b, 0x0d,
                                         0x8a, 0x57, 0x2c, 0xd1, 0x7e, 0x90, 0x3b, 0x64]
    /// Overrides the derived id (tests run several daemons on one machine, which share its machine-id).
    public static let overrideVariable = "LIGHTSCOPE_FLEET_HOST_ID"

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16, bytes.contains(where: { $0 != 0 }) else { return nil }
        self.bytes = bytes
    }

    /// Parses the UUID form (`6c1f3a52-9e44-4b0d-8a57-2cd17e903b64`) or 32 hex digits.
    public init?(_ text: String) {
        let digits = text.lowercased().filter { $0 != "-" }
        guard digits.count == 32, text.count == 32 || text.count == 36 else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes: bytes)
    }

    /// The UUID form PostgreSQL's `uuid` type reads and prints.
    public var description: String {
        let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        var text = ""
        for (offset, character) in hex.enumerated() {
            if [8, 12, 16, 20].contains(offset) { text.append("-") }
            text.append(character)
        }
        return text
    }

    /// The override from the environment when set (and valid), else the id derived from the machine-id.
    public static func current(environment: [String: String]) throws(FleetError) -> HostID {
        if let text = environment[overrideVariable] {
            guard let id = HostID(text) else {
                throw FleetError("\(overrideVariable)=\(text) is not a host id: give 32 hex digits, with or without the UUID dashes")
            }
            return id
        }
        var application = sd_id128_t()
        withUnsafeMutableBytes(of: &application) { $0.copyBytes(from: applicationID) }
        var derived = sd_id128_t()
        let result = sd_id128_get_machine_app_specific(application, &derived)
        guard result >= 0 else {
            throw FleetError("cannot derive the fleet host id from /etc/machine-id (\(String(cString: strerror(-result)))): run systemd-machine-id-setup, or set \(overrideVariable)")
        }
        let bytes = withUnsafeBytes(of: derived) { Array($0) }
        guard let id = HostID(bytes: bytes) else { throw FleetError("the fleet host id derived from /etc/machine-id is all zeros") }
        return id
    }
}

/// A fleet problem that reaches a person: what is wrong, and how to fix it, in one line.
public struct FleetError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The collector refused to count sources across hosts whose pseudonyms were made with
    /// different anonymisation keys: the read commands exit with a status of their own.
    public var isAnonymisationKeyConflict = false
    public init(_ message: String, isAnonymisationKeyConflict: Bool = false) {
        self.message = message
        self.isAnonymisationKeyConflict = isAnonymisationKeyConflict
    }
    public var description: String { message }
}
