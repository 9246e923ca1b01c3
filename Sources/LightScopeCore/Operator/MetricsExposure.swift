/// Whether the metrics listener can be reached from other hosts.
///
/// The unit allows the daemon only loopback peers (`IPAddressDeny=any`,
/// `IPAddressAllow=localhost`), but systemd enforces that with BPF programs attached to the
/// service's cgroup, which needs cgroup v2 (the unified hierarchy, or its hybrid mount); on a
/// host without it, or for a daemon not started as the unit at all, a listener on a
/// non-loopback address serves the host's exposure to anyone who can reach the port.
public enum MetricsExposure {
    public enum Sandbox: Equatable, Sendable {
        /// Started by systemd on a host with cgroup v2: the unit's IP rules hold.
        case enforced
        /// Started by systemd, but the host has no cgroup v2.
        case noCgroupV2
        /// Not started by systemd (a terminal, scripts/run.sh): there is no unit sandbox.
        case none
    }

    /// The warning to give, or nil when only this host can reach the listener.
    public static func warning(listen: MetricsEndpoint?, sandbox: Sandbox) -> String? {
        guard let listen, SpecialUseAddress(listen.address) != .loopback, sandbox != .enforced else { return nil }
        let why = sandbox == .noCgroupV2
            ? "this host has no cgroup v2, so systemd cannot enforce the unit's IPAddressDeny="
            : "this daemon was not started by systemd, so no unit sandbox limits its peers"
        return "Metrics listen on \(listen), which is not a loopback address, and \(why): other hosts that can reach "
            + "port \(listen.port) can read this host's exposure. Set [metrics] listen = 127.0.0.1:\(listen.port) "
            + "(or [::1]:\(listen.port)), or firewall the port"
    }
}
