#if canImport(Glibc)
import Glibc
#endif

/// The secret behind address pseudonyms: 32 random bytes in `anonymisation.key` in the state
/// directory, created on first use and kept, so a sender's pseudonym stays the same across
/// restarts (and changes only if an admin deletes the key on purpose).
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
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw StoreError("anonymisation key \(path) is not a regular file: remove it to have a new key generated")
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw StoreError("anonymisation key \(path) has mode \(String(mode, radix: 8)), readable by others: run 'chmod 600 \(path)' (and consider it leaked: delete it to have a new key generated, which changes every pseudonym)")
        }
        guard status.st_uid == geteuid() else {
            throw StoreError("anonymisation key \(path) belongs to uid \(status.st_uid), not to the user LightScope runs as (uid \(geteuid())): run 'chown \(geteuid()) \(path)'")
        }
        guard status.st_size == byteCount else {
            throw StoreError("anonymisation key \(path) is \(status.st_size) bytes, not \(byteCount): restore the right file, or delete it to have a new key generated (earlier pseudonyms will then no longer match)")
        }
        var key = [UInt8](repeating: 0, count: byteCount)
        var offset = 0
        while offset < byteCount {
            let count = key.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, byteCount - offset) }
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
        var offset = 0
        while offset < byteCount {
            let count = key.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, byteCount - offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { close(descriptor); throw fail("write") }
            offset += count
        }
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
