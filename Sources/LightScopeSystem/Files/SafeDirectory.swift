#if canImport(Glibc)
import Glibc
#endif

/// The rule for the directories LightScope writes into (state and runtime), as ssh's
/// StrictModes applies it to ~/.ssh: the directory and every one above it belong to root or to
/// the user LightScope runs as, and none is writable by its group or by others. Anyone else
/// who could write one of them could plant a symbolic link there, or swap a directory for
/// one, and have LightScope (perhaps run as root) write where they choose.
///
/// A directory above it that others may write is allowed when it is root's and sticky, like
/// /tmp: others can add entries there, but cannot rename or remove LightScope's.
/// Symbolic links in the path are followed, and their targets held to the same rule.
public enum SafeDirectory {
    /// Symbolic links followed before the path is declared a loop, as the kernel's ELOOP limit.
    static let maximumLinks = 40

    /// Why `path` is not safe for a process running as `uid`, with the fix; nil when it is.
    /// `role` names it in the message, e.g. "state directory".
    public static func problem(with path: String, role: String, uid: uid_t = geteuid()) -> String? {
        var pending = components(of: path.hasPrefix("/") ? path : currentDirectory() + "/" + path)
        var resolved: [String] = []
        var linksFollowed = 0
        if let problem = check("/", isLast: pending.isEmpty, role: role, path: path, uid: uid) { return problem }
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." { continue }
            if name == ".." { _ = resolved.popLast(); continue }
            let current = "/" + (resolved + [name]).joined(separator: "/")
            var status = stat()
            guard lstat(current, &status) == 0 else {
                return "\(role) \(path): \(current) cannot be examined (\(String(cString: strerror(errno))))"
            }
            if status.st_mode & S_IFMT == S_IFLNK {
                linksFollowed += 1
                guard linksFollowed <= maximumLinks, let target = readLink(current) else {
                    return "\(role) \(path): too many symbolic links at \(current)"
                }
                // The link cannot be replaced unless its directory allows it: only a sticky one
                // lets others add entries, so there the link itself must be ours or root's.
                if let problem = checkOwner(status, at: current, isLink: true, role: role, path: path, uid: uid) {
                    return problem
                }
                if target.hasPrefix("/") { resolved = [] }
                pending = components(of: target) + pending
                continue
            }
            resolved.append(name)
            guard status.st_mode & S_IFMT == S_IFDIR else {
                return "\(role) \(path): \(current) is not a directory; choose another with --state-dir"
            }
            if let problem = check(current, isLast: pending.isEmpty, role: role, path: path, uid: uid) { return problem }
        }
        return nil
    }

    private static func check(_ directory: String, isLast: Bool, role: String, path: String, uid: uid_t) -> String? {
        var status = stat()
        guard lstat(directory, &status) == 0 else {
            return "\(role) \(path): \(directory) cannot be examined (\(String(cString: strerror(errno))))"
        }
        if let problem = checkOwner(status, at: directory, isLink: false, role: role, path: path, uid: uid) { return problem }
        let writableByOthers = status.st_mode & 0o022 != 0
        let stickyRoot = status.st_mode & S_ISVTX != 0 && status.st_uid == 0
        if writableByOthers && (isLast || !stickyRoot) {
            let mode = String(status.st_mode & 0o7777, radix: 8)
            return "\(role) \(path): \(directory) is writable by its group or by others (mode \(mode)), who could plant links in it for LightScope to follow: run 'chmod go-w \(directory)', or choose another directory with --state-dir"
        }
        return nil
    }

    private static func checkOwner(_ status: stat, at place: String, isLink: Bool, role: String, path: String, uid: uid_t) -> String? {
        guard status.st_uid != 0, status.st_uid != uid else { return nil }
        let owner = userName(status.st_uid).map { "user \($0) (uid \(status.st_uid))" } ?? "uid \(status.st_uid)"
        let runner = uid == 0 ? "root" : "root or to " + (userName(uid).map { "\($0) (uid \(uid))" } ?? "uid \(uid)")
        let what = isLink ? "the symbolic link \(place)" : place
        return "\(role) \(path): \(what) belongs to \(owner), not to \(runner), who runs LightScope; its owner could plant links there for LightScope to follow: run LightScope as that user, or 'chown \(isLink ? "-h " : "")root \(place)', or choose another directory with --state-dir"
    }

    private static func components(of path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func userName(_ uid: uid_t) -> String? {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}
