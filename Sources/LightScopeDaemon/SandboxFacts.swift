import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// What the host offers the unit's sandbox, read for `MetricsExposure`.
public enum SandboxFacts {
    /// This process as systemd started it: under a unit (systemd sets INVOCATION_ID for every
    /// service it runs) on a host with or without cgroup v2, or not under systemd at all.
    public static func current(environment: [String: String]) -> MetricsExposure.Sandbox {
        guard environment["INVOCATION_ID"] != nil else { return .none }
        return hasCgroupV2() ? .enforced : .noCgroupV2
    }

    /// The unified hierarchy at /sys/fs/cgroup, or hybrid mode's at /sys/fs/cgroup/unified:
    /// systemd attaches its IP filters to the service's cgroup there.
    public static func hasCgroupV2() -> Bool {
        (try? FileText.read("/proc/self/mounts", maximumBytes: 1 << 20).get()).map(hasCgroupV2(mounts:)) ?? false
    }

    /// From /proc/mounts (fstab format: device, mount point, type, ...).
    static func hasCgroupV2(mounts: String) -> Bool {
        mounts.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[2] == "cgroup2" && ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].contains(fields[1])
        }
    }
}
