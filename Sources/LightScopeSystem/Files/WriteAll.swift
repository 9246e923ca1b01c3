import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The one write-all loop of the cold path (status and run files, the blocklist, the
/// anonymisation key, log lines): swift-system's `FileDescriptor.writeAll`, which retries a
/// write that a signal interrupted (EINTR) and continues after a short one.
public enum WriteAll {
    /// True when every byte reached `descriptor`. False otherwise, with `errno` set to the
    /// reason, as after a failed write(2), so callers word it with strerror(errno) as before.
    @discardableResult
    public static func write(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        do {
            _ = try FileDescriptor(rawValue: descriptor).writeAll(bytes)
            return true
        } catch let error as Errno {
            errno = error.rawValue
            return false
        } catch {
            errno = EIO
            return false
        }
    }
}
