import LightScopeCore
import LightScopeDaemon
import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// The I/O behind `lightscope doctor`: each function reads one fact from the system and
/// leaves every judgement to `Doctor` in LightScopeCore.
enum DoctorFacts {
    /// The unit's properties, or why systemd cannot be asked.
    static func unitProperties() -> Result<SystemdUnitProperties, SystemdUnavailable> {
        guard let systemctl = ChildProcess.find("systemctl") else {
            return .failure(SystemdUnavailable(reason: "systemctl is not installed"))
        }
        // sd_booted(3)'s test: systemd creates this directory when it is PID 1.
        guard isDirectory("/run/systemd/system") else {
            return .failure(SystemdUnavailable(reason: "PID 1 is not systemd (no /run/systemd/system)"))
        }
        let arguments = ["show", Doctor.unitName, "-p", SystemdUnitProperties.names.joined(separator: ",")]
        guard let result = ChildProcess.run([systemctl] + arguments), result.status == 0 else {
            return .failure(SystemdUnavailable(reason: "systemctl show \(Doctor.unitName) failed"))
        }
        return .success(SystemdUnitProperties(parsing: result.output))
    }

    struct SystemdUnavailable: Error { var reason: String }

    /// DT_NEEDED of the running binary, read through /proc/self/exe.
    static func neededLibraries() -> [String]? {
        let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return ELFNeededLibraries.parse { offset, count in
            var bytes = [UInt8](repeating: 0, count: count)
            let got = pread(fd, &bytes, count, off_t(clamping: offset))
            return got > 0 ? Array(bytes[0..<got]) : []
        }
    }

    static func binaryPath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/proc/self/exe"
    }

    static func effectiveCapabilities() -> UInt64? {
        readSmallFile("/proc/self/status").flatMap(Doctor.effectiveCapabilities(procStatus:))
    }

    static func effectiveUID() -> UInt32 { geteuid() }

    static func interfaceNames() -> [String] {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        var names: [String] = []
        var entry = list
        while entry.pointee.if_index != 0, let name = entry.pointee.if_name {
            names.append(String(cString: name))
            entry += 1
        }
        return names
    }

    static func fileFacts(_ path: String) -> Doctor.FileFacts? {
        var facts = stat()
        guard stat(path, &facts) == 0 else { return nil }
        return Doctor.FileFacts(mode: facts.st_mode & 0o7777, owner: facts.st_uid, group: facts.st_gid,
                                isDirectory: facts.st_mode & S_IFMT == S_IFDIR)
    }

    static func isReadOnlyFileSystem(_ path: String) -> Bool {
        var facts = statvfs()
        return statvfs(path, &facts) == 0 && facts.f_flag & UInt(ST_RDONLY) != 0
    }

    /// The uid and groups of `user`, or of this process when nil.
    static func identity(of user: String?) -> (name: String, uid: UInt32, groups: [UInt32])? {
        guard let user else {
            var groups = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
            _ = getgroups(Int32(groups.count), &groups)
            return ("uid \(geteuid())", geteuid(), groups + [getegid()])
        }
        guard let entry = getpwnam(user) else { return nil }
        let uid = entry.pointee.pw_uid, gid = entry.pointee.pw_gid
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, gid, &groups, &count) < 0 { groups = [gid] } else { groups = Array(groups[0..<Int(count)]) }
        return (user, uid, groups)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// True only when the file is known not to exist (not when it cannot be looked at).
    static func isMissing(_ path: String) -> Bool { access(path, F_OK) != 0 && errno == ENOENT }

    /// The errno of opening `path` for reading as this process, nil when it opens; ENOENT
    /// files are left out, since their absence is another check's finding.
    static func readErrors(_ paths: [String]) -> [(path: String, errorNumber: Int32?)] {
        paths.compactMap { path in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { close(fd); return (path, nil) }
            let reason = errno
            return reason == ENOENT ? nil : (path, reason)
        }
    }

    static func userName() -> String {
        getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
    }

    private static func isDirectory(_ path: String) -> Bool { fileFacts(path)?.isDirectory ?? false }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = read(fd, &chunk, chunk.count)
        return count > 0 ? String(decoding: chunk[0..<count], as: UTF8.self) : nil
    }
}
