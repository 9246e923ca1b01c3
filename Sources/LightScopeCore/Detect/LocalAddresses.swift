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
    /// Whether `exactTable` holds any: replay with `--local` prefixes has none, and then asks
    /// no hash (the table's own count is read through a class, with an access check).
    private var hasExact = false
    public private(set) var prefixes: [IPPrefix] {
        didSet { prefixMasks = prefixes.map(PrefixMask.init) }
    }
    /// `prefixes` as masks worked out once: every probe asks two or three times.
    private var prefixMasks: [PrefixMask] = []
    public let learnsFromAnswers: Bool

    public init(addresses: Set<IPAddress> = [], prefixes: [IPPrefix] = []) {
        exactTable = Self.table(of: addresses)
        hasExact = !addresses.isEmpty
        self.prefixes = prefixes
        prefixMasks = prefixes.map(PrefixMask.init)
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
        if hasExact, exactTable.index(of: address) != nil { return true }
        for mask in prefixMasks where mask.contains(address) { return true }
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
        hasExact = true
    }

    /// The host's interface addresses changed (live mode).
    public mutating func replace(addresses: Set<IPAddress>) {
        exactTable = Self.table(of: addresses)
        hasExact = !addresses.isEmpty
    }
}

/// A prefix as the two masked words its addresses share, as `IPPrefix.contains` tests them.
private struct PrefixMask {
    let isIPv4: Bool
    let high: UInt64
    let low: UInt64
    let highMask: UInt64
    let lowMask: UInt64

    init(_ prefix: IPPrefix) {
        isIPv4 = prefix.address.isIPv4
        let bits = isIPv4 ? 96 + prefix.length : prefix.length
        highMask = bits >= 64 ? .max : (bits == 0 ? 0 : .max << (64 - bits))
        lowMask = bits <= 64 ? 0 : (bits >= 128 ? .max : .max << (128 - bits))
        high = prefix.address.high & highMask
        low = prefix.address.low & lowMask
    }

    @inline(__always)
    func contains(_ address: IPAddress) -> Bool {
        address.isIPv4 == isIPv4 && address.high & highMask == high && address.low & lowMask == low
    }
}
