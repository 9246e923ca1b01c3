import LightScopeSystem
#if canImport(Glibc)
import Glibc
#endif

/// A small file replaced whole and atomically (`status.json`, `runs.json`): written to a
/// temporary file beside it, then renamed over it, so a reader never sees half a file.
///
/// The temporary file is created with O_CREAT|O_EXCL|O_NOFOLLOW after removing whatever has
/// its name, so a symbolic link planted there is never followed (a process run as root would
/// otherwise truncate the file it points at); rename(2) then replaces the final name itself,
/// link or not. The mode is set with fchmod, whatever the umask.
enum ReplacedFile {
    /// nil when written, otherwise what went wrong, e.g. "open /run/lightscope/status.json.tmp: Permission denied".
    /// `owner`: whom to give the file to before it takes its name (a process run as root).
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t, durable: Bool, owner: (uid: uid_t, gid: gid_t)? = nil) -> String? {
        let temporary = path + ".tmp"
        func failure(_ step: String, _ name: String) -> String {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return "\(step) \(name): \(reason)"
        }
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { return failure("open", temporary) }
        guard WriteAll.write(bytes, to: descriptor) else { close(descriptor); return failure("write", temporary) }
        guard fchmod(descriptor, mode) == 0, owner.map({ fchown(descriptor, $0.uid, $0.gid) == 0 }) ?? true,
              !durable || fsync(descriptor) == 0 else {
            close(descriptor)
            return failure("write", temporary)
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else { return failure("rename to", path) }
        return nil
    }

    /// The file's bytes when it is a regular file of at most `maximumBytes`; never through a
    /// symbolic link, and never blocking on a FIFO planted in its place.
    static func read(_ path: String, maximumBytes: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size <= maximumBytes else { return nil }
        let size = Int(status.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, size - offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            offset += count
        }
        return Array(bytes[0..<offset])
    }
}
