/// Names the tool that sent a connection attempt, from the marks `ToolRules` lists. Pure and
/// allocation-free, so it can run on every SYN where the probe is first seen.
public struct ToolFingerprint: Sendable {
    public let rules: [ToolRule]
    /// Every rule wants DF clear, so a SYN with DF set (nearly every ordinary one) is
    /// `unknown` without a look at the rules.
    @usableFromInline let everyRuleWantsDontFragmentClear: Bool

    public init(rules: [ToolRule] = ToolRules.standard) {
        self.rules = rules
        everyRuleWantsDontFragmentClear = rules.allSatisfy { $0.marks.contains(.dontFragmentClear) }
    }

    /// The first rule's tool whose marks all hold for this SYN; `unknown` for anything else,
    /// and for segments that are not connection attempts (the rules describe SYN probes).
    @inlinable
    public func tool(of packet: DecodedPacket, _ segment: TCPSegment) -> ScanTool {
        guard segment.isConnectionAttempt, !(everyRuleWantsDontFragmentClear && packet.ipv4DontFragment) else { return .unknown }
        for rule in rules where rule.marks.allSatisfy({ $0.holds(for: packet, segment) }) {
            return rule.tool
        }
        return .unknown
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
