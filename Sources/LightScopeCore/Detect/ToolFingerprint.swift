/// Names the tool that sent a connection attempt, from the marks `ToolRules` lists. Pure and
/// allocation-free, so it can run on every SYN where the probe is first seen.
public struct ToolFingerprint: Sendable {
    public let rules: [ToolRule]
    /// `rules` as flat checks, in the same order (`CompiledToolRule`), and the options they
    /// want, apart: over 40 bytes each, which the checks of every rule would otherwise load.
    private let compiled: [CompiledToolRule]
    private let wantedOptions: [TCPOptions]
    /// Every rule wants DF clear, so a SYN with DF set (nearly every ordinary one) is
    /// `unknown` without a look at the rules.
    private let everyRuleWantsDontFragmentClear: Bool

    public init(rules: [ToolRule] = ToolRules.standard) {
        self.rules = rules
        var wantedOptions: [TCPOptions] = []
        compiled = rules.map { CompiledToolRule($0, options: &wantedOptions) }
        self.wantedOptions = wantedOptions
        everyRuleWantsDontFragmentClear = rules.allSatisfy { $0.marks.contains(.dontFragmentClear) }
    }

    /// The first rule's tool whose marks all hold for this SYN; `unknown` for anything else,
    /// and for segments that are not connection attempts (the rules describe SYN probes).
    public func tool(of packet: DecodedPacket, _ segment: TCPSegment) -> ScanTool {
        guard segment.isConnectionAttempt, !(everyRuleWantsDontFragmentClear && packet.ipv4DontFragment) else { return .unknown }
        // The SYN's side of every check, worked out once, not once per rule.
        let facts = ProbeFacts(packet, segment)
        for rule in compiled where rule.holds(for: facts) {
            if rule.optionsIndex >= 0, segment.options != wantedOptions[Int(rule.optionsIndex)] { continue }
            return rule.tool
        }
        return .unknown
    }
}

/// A `ToolRule` as one check of three words against the SYN's `ProbeFacts`: the same verdict
/// as every mark's `holds`, without walking an array of marks per rule on every SYN whose DF
/// bit is clear (a flood of crafted SYNs, each checked against every rule), nor working out
/// the same fact again for every rule that wants it. The options mark is checked last, by
/// the caller (`optionsIndex`).
private struct CompiledToolRule: Sendable {
    let tool: ScanTool
    /// Two marks of one kind that want different values: the rule never holds.
    private var contradicts = false
    private var dontFragmentClear = false
    private var identification: UInt16?
    private var identificationFromTarget = false
    private var sequenceIsDestinationAddress = false
    private var window: UInt16?
    private var acknowledgementWithoutACKFlag = false
    /// Where the options the rule wants are in the fingerprint's `wantedOptions`; -1 for none.
    private(set) var optionsIndex: Int32 = -1

    init(_ rule: ToolRule, options wantedOptions: inout [TCPOptions]) {
        tool = rule.tool
        var options: TCPOptions?
        for mark in rule.marks {
            switch mark {
            case .dontFragmentClear: dontFragmentClear = true
            case .ipv4Identification(let wanted): identification = Self.merge(identification, wanted, &contradicts)
            case .ipv4IdentificationFromTarget: identificationFromTarget = true
            case .sequenceIsDestinationAddress: sequenceIsDestinationAddress = true
            case .window(let wanted): window = Self.merge(window, wanted, &contradicts)
            case .options(let wanted): options = Self.merge(options, wanted, &contradicts)
            case .acknowledgementWithoutACKFlag: acknowledgementWithoutACKFlag = true
            }
        }
        if let options {
            optionsIndex = Int32(wantedOptions.count)
            wantedOptions.append(options)
        }
        makeCheck()
    }

    private static func merge<Value: Equatable>(_ kept: Value?, _ wanted: Value, _ contradicts: inout Bool) -> Value {
        if let kept, kept != wanted { contradicts = true }
        return wanted
    }

    /// The facts this rule wants set (`ProbeFacts`), and the window and identification it
    /// wants, as a mask and value over `ProbeFacts.word`, made from the fields above.
    private var wantedFacts: UInt32 {
        var wanted: UInt32 = 0
        if contradicts { wanted |= ProbeFacts.never }
        if dontFragmentClear { wanted |= ProbeFacts.dontFragmentClear }
        if identification != nil { wanted |= ProbeFacts.hasIdentification }
        if identificationFromTarget { wanted |= ProbeFacts.identificationFromTarget }
        if sequenceIsDestinationAddress { wanted |= ProbeFacts.sequenceIsDestinationAddress }
        if acknowledgementWithoutACKFlag { wanted |= ProbeFacts.acknowledgementWithoutACKFlag }
        return wanted
    }

    private var wordMask: UInt32 { (window == nil ? 0 : 0xFFFF) | (identification == nil ? 0 : 0xFFFF_0000) }
    private var wordValue: UInt32 { UInt32(window ?? 0) | UInt32(identification ?? 0) << 16 }

    /// Made once, from the fields above: the whole check in three words.
    private(set) var check = (facts: UInt32(0), mask: UInt32(0), value: UInt32(0))

    mutating func makeCheck() { check = (wantedFacts, wordMask, wordValue) }

    /// Every mark but the options holds for the SYN whose facts these are.
    @inline(__always)
    func holds(for facts: ProbeFacts) -> Bool {
        facts.bits & check.facts == check.facts && facts.word & check.mask == check.value
    }
}

/// What a SYN shows the tool rules, worked out once for all of them: which of the marks
/// without a value hold (`bits`), and its window and IPv4 identification in one word.
struct ProbeFacts {
    static let dontFragmentClear: UInt32 = 1 << 0
    static let hasIdentification: UInt32 = 1 << 1
    static let identificationFromTarget: UInt32 = 1 << 2
    static let sequenceIsDestinationAddress: UInt32 = 1 << 3
    static let acknowledgementWithoutACKFlag: UInt32 = 1 << 4
    /// Set in no SYN's facts: a rule that wants it never holds.
    static let never: UInt32 = 1 << 31

    let bits: UInt32
    /// The window in the low 16 bits, the IPv4 identification (0 without one) in the high 16.
    let word: UInt32

    /// The same answers as `ProbeMark.holds`, mark by mark.
    @inline(__always)
    init(_ packet: DecodedPacket, _ segment: TCPSegment) {
        var bits: UInt32 = packet.ipv4DontFragment ? 0 : Self.dontFragmentClear
        if segment.acknowledgement != 0 && !segment.flags.contains(.ack) { bits |= Self.acknowledgementWithoutACKFlag }
        if let destination = packet.destination.ipv4Value {
            if destination == segment.sequence { bits |= Self.sequenceIsDestinationAddress }
            if let identification = packet.ipv4Identification,
               identification == UInt16(truncatingIfNeeded: destination ^ UInt32(segment.destinationPort) ^ segment.sequence) {
                bits |= Self.identificationFromTarget
            }
        }
        if packet.ipv4Identification != nil { bits |= Self.hasIdentification }
        self.bits = bits
        word = UInt32(segment.window) | UInt32(packet.ipv4Identification ?? 0) << 16
    }
}

extension ProbeMark {
    @inlinable
    public func holds(for packet: DecodedPacket, _ segment: TCPSegment) -> Bool {
        switch self {
        case .dontFragmentClear:
            return !packet.ipv4DontFragment
        case .ipv4Identification(let identification):
            return packet.ipv4Identification == identification
        case .ipv4IdentificationFromTarget:
            guard let identification = packet.ipv4Identification, let destination = packet.destination.ipv4Value else {
                return false
            }
            let derived = destination ^ UInt32(segment.destinationPort) ^ segment.sequence
            return identification == UInt16(truncatingIfNeeded: derived)
        case .sequenceIsDestinationAddress:
            return packet.destination.ipv4Value == segment.sequence
        case .window(let window):
            return segment.window == window
        case .options(let options):
            return segment.options == options
        case .acknowledgementWithoutACKFlag:
            return segment.acknowledgement != 0 && !segment.flags.contains(.ack)
        }
    }
}
