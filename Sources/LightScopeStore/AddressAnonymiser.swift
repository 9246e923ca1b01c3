import Crypto
import LightScopeCore

/// Replaces addresses by stable keyed pseudonyms before any sink sees them.
///
/// A pseudonym is `anon4-` (IPv4) or `anon6-` (IPv6) followed by the first 16 hex digits
/// (64 bits) of HMAC-SHA256(key, address bytes), the 4 bytes of an IPv4 address or the 16 of an
/// IPv6 one: `anon4-3f2a9c0d11e4b7a5`. The same address always gets the same pseudonym under
/// one key, so counts and "top sources" still work; without the key, pseudonyms cannot be
/// reversed or recomputed by trying every IPv4 address, which a plain hash would allow.
public struct AddressAnonymiser: Equatable, Sendable {
    public let mode: AddressAnonymisation
    /// Raw bytes rather than a `SymmetricKey`, which is not `Sendable`; the HMAC copies it anyway.
    private let key: [UInt8]?

    /// `key` is required unless `mode` is `.off`.
    public init(mode: AddressAnonymisation, key: [UInt8]?) {
        precondition(mode == .off || key?.count == AnonymisationKey.byteCount, "anonymisation needs a \(AnonymisationKey.byteCount)-byte key")
        self.mode = mode
        self.key = mode == .off ? nil : key
    }

    /// Loads the key `keyFile` names (`[store] anonymisation_key`), or else loads (or creates) the
    /// one in the state directory, but only when `mode` needs one, so a store without
    /// anonymisation never writes a key file.
    public static func load(mode: AddressAnonymisation, stateDirectory: String, keyFile: String? = nil,
                            environment: [String: String] = [:]) throws(StoreError) -> AddressAnonymiser {
        guard mode != .off else { return AddressAnonymiser(mode: .off, key: nil) }
        if let keyFile {
            return AddressAnonymiser(mode: mode, key: try AnonymisationKey.loadConfigured(keyFile, environment: environment))
        }
        return AddressAnonymiser(mode: mode, key: try AnonymisationKey.loadOrCreate(directory: stateDirectory))
    }

    /// Names the key the sources' pseudonyms are made with, so the fleet can tell whether two
    /// hosts' pseudonyms are comparable; empty when sources are stored in the clear. One-way
    /// and keyed: the first 64 bits of HMAC-SHA256(key, a fixed label), a message that no
    /// address (4 or 16 bytes) can be, so it is no pseudonym either and reveals nothing of the key.
    public var sourceKeyIdentifier: String {
        guard mode.anonymisesSource, let key else { return "" }
        let code = HMAC<SHA256>.authenticationCode(for: Array(Self.keyIdentifierLabel.utf8), using: SymmetricKey(data: key))
        return code.prefix(8).map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined()
    }

    static let keyIdentifierLabel = "LightScope anonymisation key identifier"

    public static let disabled = AddressAnonymiser(mode: .off, key: nil)

    public func pseudonym(for address: IPAddress) -> String {
        guard key != nil else { return address.description }
        return Self.pseudonymText(code: pseudonymCode(for: address), isIPv4: address.isIPv4)
    }

    /// The first 64 bits of the address's HMAC, big-endian: what its pseudonym spells in hex
    /// (a flood block stores these 8 bytes). 0 without a key.
    func pseudonymCode(for address: IPAddress) -> UInt64 {
        guard let key else { return 0 }
        let bytes = address.isIPv4 ? Array(address.bytes.suffix(4)) : address.bytes
        let code = HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: key))
        return code.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// `anon4-` or `anon6-` and the code's 16 hex digits.
    static func pseudonymText(code: UInt64, isIPv4: Bool) -> String {
        let hex = String(code, radix: 16)
        return (isIPv4 ? "anon4-" : "anon6-") + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The event as every sink writes it, with the configured addresses pseudonymised.
    public func record(for event: UnwantedEvent) -> EventRecord {
        let source = mode.anonymisesSource ? pseudonym(for: event.source) : event.source.description
        let destination = mode.anonymisesDestination ? event.destination.map(pseudonym(for:)) : event.destination?.description
        return EventRecord(event, source: source, destination: destination)
    }
}
