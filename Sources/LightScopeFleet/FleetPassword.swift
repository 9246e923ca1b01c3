import LightScopeCore
#if canImport(Glibc)
import Glibc
#endif

/// The collector role's password, from `[fleet] password_file` or systemd's credentials.
public enum FleetPassword {
    /// The credential the unit may load (`LoadCredential=fleet-password:/etc/lightscope/fleet-password`),
    /// used when `password_file` is empty.
    public static let credentialName = "fleet-password"

    /// The password, or nil when neither `password_file` nor the credential is there (libpq then
    /// uses the URL, PGPASSFILE or ~/.pgpass).
    public static func load(_ setting: String?, environment: [String: String]) throws(FleetError) -> String? {
        let credentials = environment["CREDENTIALS_DIRECTORY"]
        guard let setting else {
            guard let credentials else { return nil }
            let path = credentials + "/" + credentialName
            return access(path, F_OK) == 0 ? try read(path, described: "the credential \(credentialName)") : nil
        }
        if setting.utf8.contains(UInt8(ascii: "/")) { return try read(setting, described: "[fleet] password_file \(setting)") }
        guard let credentials else {
            throw FleetError("[fleet] password_file = \(setting) names a credential, but no credentials were passed ($CREDENTIALS_DIRECTORY is unset): add LoadCredential=\(setting):/etc/lightscope/\(setting) to the unit (systemctl edit lightscope), or give an absolute path")
        }
        return try read(credentials + "/" + setting, described: "the credential \(setting)")
    }

    private static func read(_ path: String, described what: String) throws(FleetError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw FleetError("cannot read \(what) (\(path)): \(String(cString: strerror(errno))); create it with mode 0600, readable by the user LightScope runs as")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw FleetError("cannot inspect \(what) (\(path))") }
        guard status.st_mode & 0o077 == 0 else {
            throw FleetError("\(what) (\(path)) is readable by others (mode \(String(status.st_mode & 0o777, radix: 8))): chmod 600 \(path)")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[0..<count]
            guard bytes.count <= 65_536 else { throw FleetError("\(what) (\(path)) is too large to be a password") }
        }
        let password = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !password.isEmpty else { throw FleetError("\(what) (\(path)) is empty: write the password that lightscope fleet add-host printed into it") }
        return password
    }
}
