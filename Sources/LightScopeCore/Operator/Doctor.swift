/// The decisions of `lightscope doctor`: the README's watchdog troubleshooting steps as checks
/// over facts the command gathered. Pure, so every verdict and every fix is tested on values.
public enum Doctor {
    public static let unitName = "lightscope.service"
    /// What the packaged unit sets; a different value means a drop-in changed it.
    public static let shippedWatchdogMicros: UInt64 = 30_000_000
    static let capNetRawBit: UInt64 = 1 << 13

    /// The systemd checks when there is no systemd to ask: all fail, saying why.
    public static func systemdUnavailable(_ reason: String) -> [DoctorCheck] {
        let fix = "run doctor on the host where lightscope.service runs under systemd"
        return ["unit", "service", "watchdog"].map { .fail($0, "cannot check: \(reason)", fix: fix) }
    }

    /// Type=notify, WatchdogSec>0 and NotifyAccess=main: without any of them the watchdog cannot work.
    public static func unit(_ unit: SystemdUnitProperties) -> DoctorCheck {
        guard unit.isLoaded else {
            return .fail("unit", "\(unitName) is not installed (LoadState=\(unit.loadState))",
                         fix: "install the lightscope package (apt install ./lightscope_*.deb)")
        }
        let watchdog = unit.watchdogMicros ?? 0
        let found = "Type=\(unit.type), WatchdogSec=\(SystemdTimespan.format(micros: watchdog)), NotifyAccess=\(unit.notifyAccess)"
        let dropIns = unit.dropInPaths.isEmpty ? "" : " (drop-ins: \(unit.dropInPaths.joined(separator: " ")))"
        let repair = "systemctl revert lightscope drops local changes (or systemctl edit lightscope), then systemctl restart lightscope"
        if unit.type != "notify" {
            return .fail("unit", "\(found): Type must be notify, or systemd ignores READY and WATCHDOG\(dropIns)", fix: repair)
        }
        if watchdog == 0 || watchdog == .max {
            return .fail("unit", "\(found): the watchdog is off, so systemd never notices a hung daemon\(dropIns)",
                         fix: "remove the drop-in that sets WatchdogSec=0, or set WatchdogSec=30 with systemctl edit lightscope; then systemctl restart lightscope")
        }
        if unit.notifyAccess != "main" {
            return .fail("unit", "\(found): NotifyAccess must be main, so only the daemon itself can ping\(dropIns)", fix: repair)
        }
        let changed = watchdog == shippedWatchdogMicros ? "" : "; the package ships 30s, so a drop-in changed it\(dropIns)"
        return .pass("unit", found + changed)
    }

    public static func service(_ unit: SystemdUnitProperties) -> DoctorCheck {
        let state = "ActiveState=\(unit.activeState), SubState=\(unit.subState)"
        if unit.activeState == "active" && unit.subState == "running" {
            return .pass("service", "\(unitName) is running (\(state), MainPID=\(unit["MainPID"] ?? "?"))")
        }
        let result = unit["Result"].map { $0.isEmpty || $0 == "success" ? "" : ", Result=\($0)" } ?? ""
        return .fail("service", "\(unitName) is not running (\(state)\(result))",
                     fix: "systemctl start lightscope; if it stops again, journalctl -u lightscope -b -p err shows why")
    }

    /// The last ping systemd received is younger than WatchdogSec.
    public static func watchdogPing(_ unit: SystemdUnitProperties, nowMonotonicMicros: UInt64) -> DoctorCheck {
        guard unit.activeState == "active", let limit = unit.watchdogMicros, limit > 0, limit != .max else {
            return .fail("watchdog", "no pings to check: the service is not running with a watchdog",
                         fix: "fix the unit and service lines above first")
        }
        guard let last = unit.watchdogTimestampMonotonicMicros, last > 0 else {
            return .fail("watchdog", "systemd has received no watchdog ping since the start",
                         fix: "journalctl -u lightscope -b shows whether a loop stalled; check that the binary links libsystemd (below)")
        }
        let age = nowMonotonicMicros > last ? nowMonotonicMicros - last : 0
        let found = "last ping \(SystemdTimespan.format(micros: age)) ago (limit \(SystemdTimespan.format(micros: limit)))"
        if age <= limit { return .pass("watchdog", found) }
        return .fail("watchdog", "\(found): the pings have stopped, systemd will restart the daemon",
                     fix: "journalctl -u lightscope -b -p err names the stalled loop; systemctl show -p NRestarts lightscope counts the restarts")
    }

    public static func libsystemd(needed: [String]?, binary: String) -> DoctorCheck {
        guard let needed else {
            return .fail("libsystemd", "cannot read the dynamic section of \(binary)", fix: "reinstall the lightscope package")
        }
        if let library = needed.first(where: { $0.hasPrefix("libsystemd.so") }) {
            return .pass("libsystemd", "\(binary) links \(library)")
        }
        return .fail("libsystemd", "\(binary) does not link libsystemd, so it cannot send READY or watchdog pings",
                     fix: "reinstall the lightscope package, or rebuild with libsystemd-dev installed")
    }

    /// Under systemd the unit grants the capability; otherwise this process must hold it.
    public static func captureCapability(unit: SystemdUnitProperties?, effectiveCapabilities: UInt64?, uid: UInt32) -> DoctorCheck {
        if let unit {
            let ambient = unit.ambientCapabilities
            if ambient.contains("cap_net_raw") {
                return .pass("capture", "the unit grants AmbientCapabilities=\(ambient.joined(separator: " "))")
            }
            return .fail("capture", "the unit does not grant CAP_NET_RAW (AmbientCapabilities=\(ambient.joined(separator: " ")))",
                         fix: "remove the drop-in that overrides AmbientCapabilities= (systemctl cat lightscope), systemctl daemon-reload, systemctl restart lightscope")
        }
        if uid == 0 { return .pass("capture", "running as root") }
        if let caps = effectiveCapabilities, caps & capNetRawBit != 0 { return .pass("capture", "this process holds CAP_NET_RAW") }
        return .fail("capture", "uid \(uid) without CAP_NET_RAW cannot open capture sockets",
                     fix: "run lightscope as root, or as lightscope.service which grants CAP_NET_RAW")
    }

    /// The effective capability mask from the `CapEff:` line of /proc/PID/status.
    public static func effectiveCapabilities(procStatus: String) -> UInt64? {
        for line in procStatus.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmedSpaces, radix: 16)
        }
        return nil
    }

    public static func interfaces(configured: [String], existing: [String]) -> DoctorCheck {
        guard !configured.isEmpty else {
            return .pass("interfaces", "none configured: every up, non-loopback interface with an address is captured (present: \(existing.joined(separator: ", ")))")
        }
        let missing = configured.filter { !existing.contains($0) }
        if missing.isEmpty { return .pass("interfaces", "\(configured.joined(separator: ", ")) exist") }
        return .fail("interfaces", "no such interface: \(missing.joined(separator: ", ")) (present: \(existing.joined(separator: ", ")))",
                     fix: "correct [capture] interfaces in the config, or leave it empty to capture on every interface")
    }

    /// `error`: what the config loader rejected, with the file and line.
    public static func config(path: String, exists: Bool, error: ConfigError?) -> DoctorCheck {
        if let error {
            let place = error.line.map { "\(error.source) line \($0)" } ?? error.source
            let fix = error.line.map { "correct line \($0) of \(error.source)" } ?? "correct \(error.source)"
            return .fail("config", "invalid config \(place): \(error.problem)", fix: "\(fix), then systemctl reload lightscope")
        }
        return .pass("config", exists ? "\(path) is valid" : "\(path) is absent: the defaults are in force")
    }

    /// Whether the user running doctor can read what `status` and the store commands read:
    /// the other checks judge the daemon's own access, so without this one an admin who lacks
    /// permission was told that everything passes and then that the daemon is not running.
    /// `readErrors` maps each file to the errno of opening it for reading (nil: readable);
    /// a file that does not exist is left to the service and store checks.
    public static func access(readErrors: [(path: String, errorNumber: Int32?)], user: String) -> DoctorCheck {
        let denied = readErrors.filter { $0.errorNumber.map(ReadAccess.isDenied) ?? false }.map(\.path)
        if !denied.isEmpty {
            return .fail("access", "\(user) cannot read \(denied.joined(separator: " and ")): \(ReadAccess.permissionDenied)",
                         fix: "sudo lightscope doctor (and sudo for status, events, top and blocklist), or add \(user) to group adm")
        }
        if let failed = readErrors.first(where: { $0.errorNumber != nil }) {
            return .fail("access", "\(user) cannot read \(failed.path) (errno \(failed.errorNumber!))",
                         fix: "check the file system holding it (journalctl -k)")
        }
        let readable = readErrors.map(\.path)
        if readable.isEmpty { return .pass("access", "nothing to read yet: no status file and no event store") }
        return .pass("access", "\(user) can read \(readable.joined(separator: " and "))")
    }

    /// `[metrics] listen` is loopback, or the unit's IP rules keep other hosts out.
    public static func metrics(listen: MetricsEndpoint?, sandbox: MetricsExposure.Sandbox) -> DoctorCheck {
        guard let listen else { return .pass("metrics", "off") }
        if let warning = MetricsExposure.warning(listen: listen, sandbox: sandbox) {
            return .fail("metrics", warning, fix: "set [metrics] listen = 127.0.0.1:\(listen.port), or firewall port \(listen.port)")
        }
        let why = SpecialUseAddress(listen.address) == .loopback ? "a loopback address" : "kept from other hosts by the unit's IPAddressDeny= (cgroup v2)"
        return .pass("metrics", "\(listen): \(why)")
    }

    /// Owner, group and mode of a file, as stat(2) gives them.
    public struct FileFacts: Equatable, Sendable {
        public var mode: UInt32, owner: UInt32, group: UInt32
        public var isDirectory: Bool
        public init(mode: UInt32, owner: UInt32, group: UInt32, isDirectory: Bool) {
            self.mode = mode; self.owner = owner; self.group = group; self.isDirectory = isDirectory
        }

        /// The permission bits as the kernel applies them to `uid` with `groups`: root
        /// passes, otherwise owner, then group, then others decide.
        public func allowsWrite(uid: UInt32, groups: [UInt32]) -> Bool {
            let needed: UInt32 = isDirectory ? 0o3 : 0o2  // a directory also needs search (x)
            if uid == 0 { return true }
            let shift: UInt32 = owner == uid ? 6 : groups.contains(group) ? 3 : 0
            return (mode >> shift) & needed == needed
        }
    }

    /// The daemon can write the store: the directory (to create the store and its -wal and
    /// -shm files) and `events.sqlite` when it exists, for the user the daemon runs as.
    public static func store(directory: String, directoryFacts: FileFacts?, databaseFacts: FileFacts?, readOnlyFileSystem: Bool,
                             user: String, uid: UInt32, groups: [UInt32]) -> DoctorCheck {
        let database = directory + "/events.sqlite"
        guard let directoryFacts, directoryFacts.isDirectory else {
            return .fail("store", "\(directory) does not exist",
                         fix: "systemctl start lightscope creates it (StateDirectory=), or mkdir -p \(directory) && chown lightscope: \(directory)")
        }
        if readOnlyFileSystem {
            return .fail("store", "\(directory) is on a read-only file system", fix: "mount it read-write, or choose another with --state-dir")
        }
        guard directoryFacts.allowsWrite(uid: uid, groups: groups) else {
            return .fail("store", "\(directory) is not writable by \(user)", fix: "chown \(user): \(directory) && chmod u+rwx \(directory)")
        }
        guard let databaseFacts else {
            return .pass("store", "\(directory) is writable by \(user); events.sqlite is created when the daemon first runs")
        }
        guard databaseFacts.allowsWrite(uid: uid, groups: groups) else {
            return .fail("store", "\(database) is not writable by \(user)", fix: "chown \(user): \(database) && chmod u+rw \(database)")
        }
        return .pass("store", "\(database) is writable by \(user)")
    }
}
