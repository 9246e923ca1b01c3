import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real second user on this machine, for tests of what another local user can do: created
/// with useradd (no home, no login shell) and removed with userdel. Needs root.
public final class ScratchUser {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t

    public init() throws {
        try requireRoot()
        name = "lstest\(getpid() % 100_000)x\(UInt32.random(in: 0..<100_000))"
        try shell(["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name])
        guard let entry = getpwnam(name) else { throw TestFailure("useradd \(name) made no passwd entry") }
        uid = entry.pointee.pw_uid
        gid = entry.pointee.pw_gid
    }

    /// Runs a command as this user: its own uid and group only, no capabilities.
    @discardableResult
    public func run(_ arguments: [String], allowFailure: Bool = false) throws -> (status: Int32, output: String) {
        try shell(["setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--inh-caps=-all", "--"] + arguments,
                  allowFailure: allowFailure)
    }

    /// Gives `path` (not what a link there points at) to this user.
    public func own(_ path: String) {
        lchown(path, uid, gid)
    }

    public func remove() {
        _ = try? shell(["userdel", name], allowFailure: true)
    }
}
