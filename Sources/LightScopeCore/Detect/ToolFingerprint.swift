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
        for rule in compiled where rule.holds(for: packet, segment) {
            if rule.optionsIndex >= 0, segment.options != wantedOptions[Int(rule.optionsIndex)] { continue }
            return rule.tool
        }
        return .unknown
    }
}

/// A `ToolRule` as one check per kind of mark, the cheap ones first: the same verdict as
/// every mark's `holds`, without walking an array of marks per rule on every SYN whose DF
/// bit is clear (a flood of crafted SYNs, each checked against every rule). The options
/// mark is checked last, by the caller (`optionsIndex`).
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
    }

    private static func merge<Value: Equatable>(_ kept: Value?, _ wanted: Value, _ contradicts: inout Bool) -> Value {
        if let kept, kept != wanted { contradicts = true }
        return wanted
    }

    @inline(__always)
    func holds(for packet: DecodedPacket, _ segment: TCPSegment) -> Bool {
        guard !contradicts else { return false }
        if let window, !ProbeMark.window(window).holds(for: packet, segment) { return false }
        if let identification, !ProbeMark.ipv4Identification(identification).holds(for: packet, segment) { return false }
        if dontFragmentClear, !ProbeMark.dontFragmentClear.holds(for: packet, segment) { return false }
        if sequenceIsDestinationAddress, !ProbeMark.sequenceIsDestinationAddress.holds(for: packet, segment) { return false }
        if identificationFromTarget, !ProbeMark.ipv4IdentificationFromTarget.holds(for: packet, segment) { return false }
        if acknowledgementWithoutACKFlag, !ProbeMark.acknowledgementWithoutACKFlag.holds(for: packet, segment) { return false }
        return true
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
