/// The scanning tool a probe's headers name, by the marks its source code leaves in every
/// probe (`ToolRules`); `unknown` when no rule matches, which is most traffic and any tool
/// that builds ordinary-looking probes. One byte, so a pending probe can carry it.
public enum ScanTool: UInt8, CaseIterable, Sendable {
    case unknown = 0
    case zmap
    case masscan
    case mirai
    case nmap
    case hping3

    /// The name events, the store, the journal and metrics use.
    public var name: String {
        switch self {
        case .unknown: "unknown"
        case .zmap: "zmap"
        case .masscan: "masscan"
        case .mirai: "mirai"
        case .nmap: "nmap"
        case .hping3: "hping3"
        }
    }

    /// The tool with this `name`, as an operator types it (`events --tool nmap`).
    public init?(name: String) {
        guard let tool = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = tool
    }

    /// The tool a stored event or JSON line names: `unknown` for none (written before tools
    /// were named) and for a name this version does not know (written by a newer one).
    public init(storedName: String?) {
        self = storedName.flatMap(Self.init(name:)) ?? .unknown
    }
}
