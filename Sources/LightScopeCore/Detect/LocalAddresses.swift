/// Which addresses are "this host", the key to telling inbound probes from everything else.
///
/// Live, the daemon fills it from the host's interfaces and refreshes it when they change.
/// In replay, a capture may come from another host: its addresses come from `--local`
/// prefixes, or, with none given, are learned from the traffic itself: whoever answers a SYN
/// (with SYN-ACK or RST) or sends an ICMP port unreachable is local.
///
/// Asked several times per packet, so the exact addresses live in a `FastHashTable`, not a
/// `Set` (SipHash).
public struct LocalAddresses: Sendable {
    private var exactTable = Self.table(of: [])
    public private(set) var prefixes: [IPPrefix]
    public let learnsFromAnswers: Bool

    public init(addresses: Set<IPAddress> = [], prefixes: [IPPrefix] = []) {
        exactTable = Self.table(of: addresses)
        self.prefixes = prefixes
        self.learnsFromAnswers = false
    }

    /// The exact (not prefix) local addresses.
    public var exact: Set<IPAddress> {
        var addresses = Set<IPAddress>()
        exactTable.forEach { address, _ in addresses.insert(address) }
        return addresses
    }

    private static func table(of addresses: Set<IPAddress>) -> FastHashTable<IPAddress, Void> {
        var table = FastHashTable<IPAddress, Void>(maximumCount: Int.max / 8)
        for address in addresses { table.updateValue((), forKey: address) }
        return table
    }

    /// Starts empty and takes every address that answers a connection attempt as local.
    public static func learnedFromAnswers() -> LocalAddresses {
        LocalAddresses(learning: true)
    }

    private init(learning: Bool) {
        prefixes = []
        learnsFromAnswers = learning
    }

    public func contains(_ address: IPAddress) -> Bool {
        if exactTable.index(of: address) != nil { return true }
        for prefix in prefixes where prefix.contains(address) { return true }
        return false
    }

    /// Whether a SYN to `destination` from `source` may be a probe worth tracking.
    public func mayBeInbound(source: IPAddress, destination: IPAddress) -> Bool {
        if learnsFromAnswers { return !contains(source) }
        return contains(destination) && !contains(source)
    }

    /// Whether `address`, answering a probe, speaks for this host; learns it if learning.
    public mutating func acceptAnswer(from address: IPAddress) -> Bool {
        guard mayAcceptAnswer(from: address) else { return false }
        accept(answerFrom: address)
        return true
    }

    /// `acceptAnswer` in two steps, for a caller that first checks, then looks the probe up,
    /// and learns the address only if there was one: whether an answer from `address` would
    /// be accepted (learning accepts every answer) ...
    public func mayAcceptAnswer(from address: IPAddress) -> Bool {
        learnsFromAnswers || contains(address)
    }

    /// ... and taking it: learns `address` if learning (and not known yet).
    public mutating func accept(answerFrom address: IPAddress) {
        guard learnsFromAnswers, !contains(address) else { return }
        exactTable.updateValue((), forKey: address)
    }

    /// The host's interface addresses changed (live mode).
    public mutating func replace(addresses: Set<IPAddress>) {
        exactTable = Self.table(of: addresses)
    }
}
