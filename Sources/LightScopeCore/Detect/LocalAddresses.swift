/// Which addresses are "this host", the key to telling inbound probes from everything else.
///
/// Live, the daemon fills it from the host's interfaces and refreshes it when they change.
/// In replay, a capture may come from another host: its addresses come from `--local`
/// prefixes, or, with none given, are learned from the traffic itself: whoever answers a SYN
/// (with SYN-ACK or RST) or sends an ICMP port unreachable is local.
///
/// Asked several times per packet, so the exact addresses live in a `FastHashTable`, not a
/// `Set` (SipHash), behind a one-word summary of them (`summaryBits`): most addresses asked
/// about are remote ones, and the summary turns nearly all of those away with a multiply
/// and a mask, before any table is hashed. The prefixes are kept with their masks made.
public struct LocalAddresses: Sendable {
    private var exactTable = Self.table(of: [])
    /// The union of every exact address's `summaryBits`: an address whose bits are not all
    /// in it is not in the table.
    private var exactSummary: UInt64 = 0
    public let prefixes: [IPPrefix]
    private let maskedPrefixes: [MaskedPrefix]
    /// The first prefix, tested inline (a replay's one `--local` prefix, asked twice a SYN:
    /// the call to walk the array cost about 40 instructions each time), and whether there
    /// are others to walk; one that matches nothing when there are no prefixes.
    private let firstPrefix: MaskedPrefix
    private let hasPrefixes: Bool
    private let hasMorePrefixes: Bool
    public let learnsFromAnswers: Bool
    /// The last destination `mayBeInbound(sourceIsLocal:destination:)` found local, while
    /// `remembersLocal`: a flood's SYNs go to the host's one or few addresses, and each was
    /// looked up again (the exact table hashed and probed, or the prefixes walked: about 40
    /// instructions a SYN). Forgotten when the addresses are replaced; learning one only adds.
    private var rememberedLocal = IPAddress(high: 0, low: 0)
    private var remembersLocal = false

    public init(addresses: Set<IPAddress> = [], prefixes: [IPPrefix] = []) {
        self.prefixes = prefixes
        maskedPrefixes = prefixes.map(MaskedPrefix.init)
        firstPrefix = maskedPrefixes.first ?? .none
        hasPrefixes = !maskedPrefixes.isEmpty
        hasMorePrefixes = maskedPrefixes.count > 1
        self.learnsFromAnswers = false
        replace(addresses: addresses)
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
        maskedPrefixes = []
        firstPrefix = .none
        hasPrefixes = false
        hasMorePrefixes = false
        learnsFromAnswers = learning
    }

    @inline(__always)
    public func contains(_ address: IPAddress) -> Bool {
        let bits = Self.summaryBits(address)
        if exactSummary & bits == bits, exactTable.index(of: address) != nil { return true }
        // The host's own addresses (live) have no prefixes: one flag, and no prefix is tested.
        return hasPrefixes && (firstPrefix.contains(address) || (hasMorePrefixes && Self.containsByPrefix(address, maskedPrefixes)))
    }

    /// Static, handed the one array: a method would be handed the whole struct, which every
    /// caller then copied to its stack first.
    @inline(never)
    private static func containsByPrefix(_ address: IPAddress, _ prefixes: [MaskedPrefix]) -> Bool {
        for prefix in prefixes where prefix.contains(address) { return true }
        return false
    }

    /// Two bits of a 64-bit word picked by the address's hash (a Bloom filter of one word):
    /// with a handful of host addresses, about one remote address in a hundred has both
    /// bits set and goes on to the table.
    @inline(__always)
    private static func summaryBits(_ address: IPAddress) -> UInt64 {
        let hash = (address.high ^ address.low) &* 0x9E37_79B9_7F4A_7C15
        return 1 &<< (hash &>> 58) | 1 &<< ((hash &>> 52) & 63)
    }

    /// Whether a SYN to `destination` from `source` may be a probe worth tracking.
    public func mayBeInbound(source: IPAddress, destination: IPAddress) -> Bool {
        if learnsFromAnswers { return !contains(source) }
        return contains(destination) && !contains(source)
    }

    /// `mayBeInbound` for a caller that has asked whether the source is local already.
    @inline(__always)
    public mutating func mayBeInbound(sourceIsLocal: Bool, destination: IPAddress) -> Bool {
        guard !sourceIsLocal else { return false }
        if learnsFromAnswers || (remembersLocal && destination == rememberedLocal) { return true }
        return rememberIfLocal(destination)
    }

    /// Whether `destination` is local, remembered if so. Outlined: inlined, the lookup made
    /// the caller's arrival path (`DetectionCore.inboundProbe`) too large for its own inlined
    /// parts, and one of them became a call.
    @inline(never)
    private mutating func rememberIfLocal(_ destination: IPAddress) -> Bool {
        guard contains(destination) else { return false }
        rememberedLocal = destination
        remembersLocal = true
        return true
    }

    /// Whether `address`, answering a probe, speaks for this host; learns it if learning.
    @inline(__always)
    public mutating func acceptAnswer(from address: IPAddress) -> Bool {
        guard mayAcceptAnswer(from: address) else { return false }
        // Every SYN-ACK comes here: a call to learn only when learning.
        if learnsFromAnswers { accept(answerFrom: address) }
        return true
    }

    /// `acceptAnswer` in two steps, for a caller that first checks, then looks the probe up,
    /// and learns the address only if there was one: whether an answer from `address` would
    /// be accepted (learning accepts every answer) ...
    /// Inlined: every SYN-ACK asks, and a call copied the whole struct to the stack first.
    @inline(__always)
    public func mayAcceptAnswer(from address: IPAddress) -> Bool {
        learnsFromAnswers || contains(address)
    }

    /// ... and taking it: learns `address` if learning (and not known yet).
    public mutating func accept(answerFrom address: IPAddress) {
        guard learnsFromAnswers, !contains(address) else { return }
        exactTable.updateValue((), forKey: address)
        exactSummary |= Self.summaryBits(address)
    }

    /// The host's interface addresses changed (live mode).
    public mutating func replace(addresses: Set<IPAddress>) {
        remembersLocal = false
        exactTable = Self.table(of: addresses)
        exactSummary = addresses.reduce(0) { $0 | Self.summaryBits($1) }
    }
}

/// An `IPPrefix` with its masks made once, for `LocalAddresses`: the same test as
/// `IPPrefix.contains`, which makes them on every call.
private struct MaskedPrefix {
    let isIPv4: Bool
    let high: UInt64
    let low: UInt64
    let highMask: UInt64
    let lowMask: UInt64

    /// Matches no address: its masked bits are set where its masks are clear.
    static let none = MaskedPrefix(isIPv4: false, high: 1, low: 1, highMask: 0, lowMask: 0)

    private init(isIPv4: Bool, high: UInt64, low: UInt64, highMask: UInt64, lowMask: UInt64) {
        (self.isIPv4, self.high, self.low, self.highMask, self.lowMask) = (isIPv4, high, low, highMask, lowMask)
    }

    init(_ prefix: IPPrefix) {
        isIPv4 = prefix.address.isIPv4
        let bits = isIPv4 ? 96 + prefix.length : prefix.length
        highMask = bits >= 64 ? .max : (bits == 0 ? 0 : .max << (64 - bits))
        lowMask = bits <= 64 ? 0 : (bits >= 128 ? .max : .max << (128 - bits))
        high = prefix.address.high & highMask
        low = prefix.address.low & lowMask
    }

    @inline(__always)
    func contains(_ candidate: IPAddress) -> Bool {
        candidate.isIPv4 == isIPv4 && candidate.high & highMask == high && candidate.low & lowMask == low
    }
}
