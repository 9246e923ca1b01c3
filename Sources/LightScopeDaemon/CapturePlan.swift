import LightScopeCapture

/// Which interfaces should be captured now. Pure, so the policy is tested without a network.
public struct CapturePlan: Equatable, Sendable {
    /// Interfaces to have an open capture on.
    public var wanted: [NetworkInterface]
    /// Named interfaces that are missing or down right now.
    public var waitingFor: [String]

    /// - Parameter named: the configured interfaces; empty means "every up, non-loopback
    ///   interface with an address". A named interface is captured as soon as it is up,
    ///   address or not (a loopback may be named explicitly).
    public static func make(named: [String], current: [NetworkInterface]) -> CapturePlan {
        if named.isEmpty {
            return CapturePlan(wanted: current.filter(\.isCaptureCandidate), waitingFor: [])
        }
        var wanted: [NetworkInterface] = []
        var waitingFor: [String] = []
        for name in named {
            if let interface = current.first(where: { $0.name == name }), interface.isUp {
                wanted.append(interface)
            } else {
                waitingFor.append(name)
            }
        }
        return CapturePlan(wanted: wanted, waitingFor: waitingFor)
    }
}
