import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// The secret behind address pseudonyms: 32 random bytes in `anonymisation.key` in the state
/// directory, created on first use and kept, so a sender's pseudonym stays the same across
/// restarts (and changes only if an admin deletes the key on purpose). A fleet whose sources are
/// anonymised shares one key instead (`[store] anonymisation_key`), so that a scanner has one
/// pseudonym on every host.
public enum AnonymisationKey {
    public static let fileName = "anonymisation.key"
    /// HMAC-SHA256's block-sized key strength: 256 bits.
    public static let byteCount = 32

    /// Reads the key in `directory`, creating it if there is none.
    /// A key file with the wrong size, owner or permissions is an error, never silently replaced:
    /// replacing it would change every pseudonym, and loose permissions mean it may have leaked.
    public static func loadOrCreate(directory: String) throws(StoreError) -> [UInt8] {
        let path = directory + "/" + fileName
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if descriptor < 0 {
            let errorNumber = errno
            guard errorNumber == ENOENT else {
                throw StoreError("anonymisation key \(path): cannot read it (\(StoreError.systemMessage(errorNumber))); it must be a regular file readable by the user LightScope runs as")
            }
            return try create(path: path, directory: directory)
        }
        defer { close(descriptor) }
        return try read(descriptor, path: path, fix: "delete it to have a new key generated", requireOwner: true)
    }

    /// Where fleet.md has the fleet-wide key installed on each host, and the credential name a
    /// unit loads it as (`LoadCredential=anonymisation-key:/etc/lightscope/fleet-anonymisation.key`).
    public static let fleetKeyPath = "/etc/lightscope/fleet-anonymisation.key"
    public static let credentialName = "anonymisation-key"

    /// The key `[store] anonymisation_key` names: a path, or a bare name looked up in
    /// `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`), as `[fleet] password_file`. It is
    /// never created: a fleet's hosts share one key, made once and installed on each.
    public static func loadConfigured(_ setting: String, environment: [String: String]) throws(StoreError) -> [UInt8] {
        let path: String
        if setting.utf8.contains(UInt8(ascii: "/")) {
            path = setting
        } else if let credentials = environment["CREDENTIALS_DIRECTORY"] {
            path = credentials + "/" + setting
        } else {
            throw StoreError("[store] anonymisation_key = \(setting) names a credential, but no credentials were passed ($CREDENTIALS_DIRECTORY is unset): add LoadCredential=\(setting):\(fleetKeyPath) to the unit (lightscope fleet dropin --anonymisation-key), or give an absolute path")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw StoreError("[store] anonymisation_key \(path): cannot read it (\(StoreError.systemMessage(errno))); install the fleet's key there with mode 0600 (see fleet.md, \"One anonymisation key for the fleet\")")
        }
        defer { close(descriptor) }
        // A credential belongs to whoever systemd chose; its mode is what keeps it secret.
        return try read(descriptor, path: path, fix: "install the fleet's key there (a new one for every host)", requireOwner: false)
    }

    /// `fix` says what to do about a file that is not a key; loose permissions or the wrong owner
    /// have fixes of their own.
    private static func read(_ descriptor: Int32, path: String, fix: String, requireOwner: Bool) throws(StoreError) -> [UInt8] {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw StoreError("anonymisation key \(path) is not a regular file: \(fix)")
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw StoreError("anonymisation key \(path) has mode \(String(mode, radix: 8)), readable by others: run 'chmod 600 \(path)' (and consider it leaked: \(fix), which changes every pseudonym)")
        }
        guard !requireOwner || status.st_uid == geteuid() else {
            throw StoreError("anonymisation key \(path) belongs to uid \(status.st_uid), not to the user LightScope runs as (uid \(geteuid())): run 'chown \(geteuid()) \(path)'")
        }
        guard status.st_size == byteCount else {
            throw StoreError("anonymisation key \(path) is \(status.st_size) bytes, not \(byteCount): restore the right file, or \(fix) (earlier pseudonyms will then no longer match)")
        }
        var key = [UInt8](repeating: 0, count: byteCount)
        var offset = 0
        while offset < byteCount {
            let count = key.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, byteCount - offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw StoreError("anonymisation key \(path): cannot read it (\(count < 0 ? StoreError.systemMessage(errno) : "short read"))")
            }
            offset += count
        }
        return key
    }

    /// Writes a new key atomically: a temporary file (0600 from the start), fsync, rename, and an
    /// fsync of the directory, so a crash leaves either no key or the whole key, never a torn one.
    private static func create(path: String, directory: String) throws(StoreError) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()  // getrandom(2) on Linux
        let key = (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let temporaryPath = "\(directory)/.\(fileName).\(getpid()).tmp"
        func fail(_ step: String) -> StoreError {
            let reason = StoreError.systemMessage(errno)
            unlink(temporaryPath)
            return StoreError("anonymisation key \(path): cannot create it (\(step): \(reason)); make \(directory) writable by the user LightScope runs as")
        }
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw fail("open") }
        guard WriteAll.write(key, to: descriptor) else { close(descriptor); throw fail("write") }
        guard fchmod(descriptor, 0o600) == 0, fsync(descriptor) == 0 else { close(descriptor); throw fail("fsync") }
        close(descriptor)
        guard rename(temporaryPath, path) == 0 else { throw fail("rename") }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
        return key
    }
}
