/// How much one probed port counts toward `portscan_ports`: a named policy, apart from the
/// counting (`ScanLimits`). scanlogd weighs ports below 1024 more, so that a scanner that
/// looks at a few services is caught before it has tried many ports; `uniform` is
/// LightScope's own rule, a port scan being `portscan_ports` distinct ports of one host.
///
/// A port weighs at least 1, so a weighted scan crosses the threshold no later than an
/// unweighted one would: the targets a source keeps (`ScanTracker.maximumTargets`) still
/// suffice, and counting stays exact.
public enum PortWeighting: String, CaseIterable, Sendable {
    /// Every port weighs 1 (the default).
    case uniform
    /// A port below `privilegedPortsBelow` weighs `privilegedPortWeight`, any other 1, as in
    /// scanlogd (PORT_WEIGHT_PRIV 3, PORT_WEIGHT_HIGH 1): with `portscan_ports = 15`, five
    /// privileged ports make a port scan, or fifteen others.
    case privileged

    public static let privilegedPortWeight = 3
    public static let privilegedPortsBelow: UInt16 = 1024

    @inline(__always)
    public func weight(of port: UInt16) -> Int {
        switch self {
        case .uniform: 1
        case .privileged: port < Self.privilegedPortsBelow ? Self.privilegedPortWeight : 1
        }
    }
}
