/// How many packet loops capture each interface (`[capture] threads`), joined by the
/// kernel's PACKET_FANOUT so that each sees a share of the traffic.
public enum CaptureThreads: Equatable, Sendable {
    /// One loop per online CPU (at most `most`): the loops' own work, decoding and
    /// detection, is what the fan-out spreads, and it can use every CPU whatever the NIC's
    /// queue count, since the kernel hands packets out after its receive path.
    case auto
    case fixed(Int)

    /// The most loops per interface: far more than a host's cores need, far below the
    /// kernel's fan-out group size (256).
    public static let most = 64

    /// The config text: `auto` or a whole number from 1 to `most`.
    public init?(text: String) {
        if text == "auto" { self = .auto; return }
        guard let count = Int(text), (1...Self.most).contains(count) else { return nil }
        self = .fixed(count)
    }

    /// The loops to run per interface on a host with `onlineCPUs` CPUs.
    public func loops(onlineCPUs: Int) -> Int {
        switch self {
        case .auto: min(max(1, onlineCPUs), Self.most)
        case .fixed(let count): count
        }
    }
}
